import type { CurrentTrait, Signal } from '../core/traits.ts';
import type { Catalogue } from './catalogue.ts';
import type { ExtractResult, Extractor } from './extractor.ts';
import { extractOffline, OFFLINE_EXTRACTOR, OFFLINE_EXTRACTOR_VERSION } from './offline-extractor.ts';
import type { SensitiveCategory } from './sensitive.ts';

/** The embedded default behind the common Extractor face: no key, no network, no calls. */
export class OfflineExtractor implements Extractor {
  readonly producer = OFFLINE_EXTRACTOR;
  readonly version = OFFLINE_EXTRACTOR_VERSION;
  constructor(
    private readonly catalogue: Catalogue,
    private readonly sensitiveAllow: readonly SensitiveCategory[] = [],
  ) {}
  async extract(signals: Signal[], current: CurrentTrait[]): Promise<ExtractResult> {
    const r = extractOffline(signals, current, { catalogue: this.catalogue, sensitive: { allow: this.sensitiveAllow } });
    return { ops: r.ops, facts: r.facts, calls: 0, promptTokens: 0, completionTokens: 0 };
  }
}
