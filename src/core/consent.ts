import { CONSENT_FLAGS, type Consent, type ConsentFlag } from './types.ts';

/** A user's stored consent (JSON, possibly partial or null) over the configured default. */
export function effectiveConsent(stored: string | null, defaults: readonly ConsentFlag[]): Consent {
  const base = Object.fromEntries(CONSENT_FLAGS.map((f) => [f, defaults.includes(f)])) as Consent;
  if (!stored) return base;
  const given = JSON.parse(stored) as Partial<Consent>;
  for (const f of CONSENT_FLAGS) if (typeof given[f] === 'boolean') base[f] = given[f];
  return base;
}
