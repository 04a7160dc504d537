/** Toy behavioural data for command and API tests: buyers buy again after the cut-off, browsers do not. */
export const TOY_ASOF = Date.parse('2024-03-01T00:00:00Z');
const D = 86_400_000;

export function toyEvents(n: number): Record<string, unknown>[] {
  const ev: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const u = `t${i}`;
    if (i % 2 === 0) {
      for (let k = 1; k <= 3; k++) ev.push({ userId: u, type: 'purchase', timestamp: TOY_ASOF - (k + (i % 5)) * D, properties: { price: 10 + (i % 7), category: 'books' } });
      ev.push({ userId: u, type: 'purchase', timestamp: TOY_ASOF + (3 + (i % 9)) * D, properties: { price: 12, category: 'books' } });
    } else {
      for (let k = 0; k < 2; k++) ev.push({ userId: u, type: 'page_view', timestamp: TOY_ASOF - (60 + k + (i % 11)) * D, properties: { dwell_ms: 2000, category: 'games' } });
    }
  }
  return ev;
}

/** A small, fast spec on the toy data (users split: every user is labelled at one cut-off). */
export function toySpecJson(name: string): Record<string, unknown> {
  return {
    name,
    asOf: new Date(TOY_ASOF).toISOString(),
    target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 },
    architecture: 'mlp',
    split: { kind: 'users', validation: 0.2, test: 0.25, seed: 1 },
    training: { epochs: 30, patience: 30, batchSize: 32, learningRate: 0.01, hidden: [8] },
    trait: { key: `${name}_trait` },
  };
}
