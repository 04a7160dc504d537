/**
 * Issue #15 item 3: typed extraction for the usual phrasings. Every sentence below is a real
 * utterance from the PersonaChat *tune* split (speakers 0–599 of speakers-dev.jsonl; the speaker
 * index is in the comment), written down before the extractor learned it. The held-out speakers
 * (600–1199) were not looked at.
 */
import { describe, expect, it } from 'vitest';
import type { Signal, TraitOp } from '../../src/core/traits.ts';
import { extractOffline } from '../../src/traits/offline-extractor.ts';

let nextId = 1;
const sig = (text: string): Signal => ({ eventId: nextId++, type: 'chat_message', text, ts: nextId });
const adds = (ops: TraitOp[]) => ops.filter((o) => o.op !== 'retract').map((o) => `${o.key}=${String(o.value)}`);

/** [speaker, text, pairs that must be present, pairs that must be absent] */
const CASES: [number, string, string[], string[]][] = [
  // occupations: "working as", "work at … as", "a job as", "been a … for"
  [493, "hi . i'm working as a custodian right now to help pay bills .", ['occupation=custodian'], []],
  [138, 'good i live in ohio working as a doctor looking for a job in california', ['occupation=doctor', 'location_region=ohio'], ['location_region=california']],
  [165, 'i work at a museum as a guide', ['occupation=tour guide'], []],
  [174, "what center are you at ? i'm work at a center as a doc .", ['occupation=doctor'], []],
  [558, "i've taken a second job as a stunt double , it is fun !", ['occupation=actor'], []],
  [209, "hi . i don't like working as a car salesman .", ['occupation=salesperson'], []],
  // never someone else's job, never a hypothetical one
  [576, 'my father , who is chinese , might can get you a job as an electrician .', [], ['occupation=electrician']],
  [573, 'someday i will afford it . it is hard to get a good job as a woman here', [], ['occupation=woman']],
  // locations: the value is the place, nothing after it
  [294, 'i live in middle of alabama . do not get to ocean much .', ['location_region=alabama'], []],
  [465, 'i live in the sunny state of florida surrounded by my huge family', ['location_region=florida'], []],
  [507, 'i live near disney world in florida , in fact i own a house there .', ['location_region=florida'], ['location_region=disney world']],
  [380, 'ah i live in florida man , i feel you . the city is full of temptations .', ['location_region=florida'], ['location_region=florida man']],
  // interests through activities
  [311, 'i love to work out , and i eat a completely raw diet to complement it . you ?', ['interest=fitness'], []],
  [531, 'well i won gold medal in the olympics so i work out a lot', ['interest=fitness'], []],
  [3, 'understood . when i need to be alone , i work out a few times each week .', ['interest=fitness'], []],
  [139, 'it can be lonely , i sometimes go to the gym just for the interaction .', ['interest=fitness'], []],
  // pets through care
  [161, "i'm always walking my dogs so gym activities are fun for me", ['pet=dog'], []],
  [429, 'i just got finished feeding my fish .', ['pet=fish'], []],
  [178, 'hi . good . just got in from feeding the horses . how are you doing ?', ['pet=horse'], []],
];

describe('offline extractor: the usual phrasings (tune split)', () => {
  for (const [speaker, text, want, notWant] of CASES) {
    it(`speaker ${speaker}: ${text}`, () => {
      const got = adds(extractOffline([sig(text)]).ops);
      for (const w of want) expect(got, `${text} → ${got.join(', ')}`).toContain(w);
      for (const w of notWant) expect(got, `${text} → ${got.join(', ')}`).not.toContain(w);
    });
  }
});
