import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

async function seed(store: Store, user: string, texts: (string | null)[]): Promise<{ userId: number; events: number[] }> {
  const r = await ingestBatch(
    store.events,
    texts.map((text, i) => ({
      userId: user,
      type: text === null ? 'page_view' : 'chat_message',
      ...(text === null ? {} : { text }),
      timestamp: T0 + i * 1000,
      eventId: `${user}-${i}`,
    })),
  );
  return { userId: (await store.users.require(user)).id, events: r.results.map((x) => (x.status === 'accepted' ? x.id : -1)) };
}

const vec = (...xs: number[]) => Float32Array.from(xs);

describeStores('embeddings', (ctx) => {
  it('signals to embed are the text signals without a vector from that embedder; vectors round-trip exactly with their signal time', async () => {
    const { userId, events } = await seed(ctx.store, 'ann', ['one', null, 'three']);
    await seed(ctx.store, 'bob', ['other user']);
    const e = ctx.store.embeddings;
    const byId = <T extends { id: number }>(xs: T[]) => [...xs].sort((a, b) => a.id - b.id);
    expect(await e.signalsToEmbed(userId, 'emb:a')).toEqual(
      byId([
        { id: events[0]!, text: 'one' },
        { id: events[2]!, text: 'three' },
      ]),
    );
    const v1 = vec(0.1, -0.2, 1 / 3);
    await e.putSignalEmbeddings(userId, 'emb:a', 3, [{ eventId: events[0]!, vector: v1 }], 50);
    expect((await e.signalsToEmbed(userId, 'emb:a')).map((s) => s.text)).toEqual(['three']);
    expect(await e.signalsToEmbed(userId, 'emb:b')).toHaveLength(2);
    // a second write for the same (signal, embedder) replaces the vector
    const v3 = vec(0.5, 0.5, 0.5);
    await e.putSignalEmbeddings(
      userId,
      'emb:a',
      3,
      [
        { eventId: events[0]!, vector: v1.map((x) => x * 2) },
        { eventId: events[2]!, vector: v3 },
      ],
      60,
    );
    const stored = await e.signalEmbeddings(userId, 'emb:a', 3);
    // ordered by signal id
    const expected = byId([
      { id: events[0]!, vector: Array.from(v1.map((x) => x * 2)), ts: T0 },
      { id: events[2]!, vector: Array.from(v3), ts: T0 + 2000 },
    ]);
    expect(stored.map((s) => [Array.from(s.vector), s.ts])).toEqual(expected.map((x) => [x.vector, x.ts]));
    // another dimension (a switched embedder) is never mixed in
    expect(await e.signalEmbeddings(userId, 'emb:a', 4)).toEqual([]);
    expect(await e.signalsToEmbed(userId, 'emb:a')).toEqual([]);
  });

  it('the user embedding is one row per (user, embedder), replaced on update', async () => {
    const { userId } = await seed(ctx.store, 'cy', ['x']);
    const e = ctx.store.embeddings;
    expect(await e.getUserEmbedding(userId, 'emb:a')).toBeNull();
    await e.putUserEmbedding(userId, 'emb:a', vec(0.6, 0.8), 2, 100);
    await e.putUserEmbedding(userId, 'emb:b', vec(1, 0, 0), 1, 100);
    await e.putUserEmbedding(userId, 'emb:a', vec(0, 1), 3, 200);
    expect(await e.getUserEmbedding(userId, 'emb:a')).toEqual({ vector: vec(0, 1), signals: 3, dim: 2, updatedAt: 200 });
    expect((await e.getUserEmbedding(userId, 'emb:b'))?.dim).toBe(3);
  });
});
