import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.ts';
import { itemsSpecs, readRetailItems } from '../../src/eval/behaviour.ts';
import { tempDir } from '../support/temp-db.ts';

const d = tempDir('traitlens-retail-items-');
afterAll(() => d.remove());

describe('Online Retail line items as events', () => {
  it('purchases, cancellations as returns, quoted descriptions, no non-products, the most frequent country', () => {
    const lines = [
      'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
      '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom',
      '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,2010-12-01 09:41:00,2.1,17850,United Kingdom',
      '536477,22041,"RECORD FRAME 7"" SINGLE SIZE",48,2010-12-01 12:27:00,2.1,12345,France',
      'C536379,85123a,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-02 09:41:00,2.55,17850,United Kingdom',
      '536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,12345,France',
      '536371,22041,RECORD FRAME,5,2010-12-01 08:45:00,2.1,,United Kingdom',
      '536372,22041,RECORD FRAME,5,2010-12-03 08:45:00,2.1,12345,Germany',
      '536373,22041,RECORD FRAME,5,2010-12-04 08:45:00,2.1,12345,France',
      '',
    ];
    mkdirSync(join(d.dir, 'online-retail-items'), { recursive: true });
    writeFileSync(join(d.dir, 'online-retail-items', 'online_retail.csv.gz'), gzipSync(lines.join('\n')));
    const r = readRetailItems(d.dir);
    expect(r.lines).toBe(8);
    expect(r.skippedNoCustomer).toBe(1);
    expect(r.skippedNonProduct).toBe(1);
    expect(r.events).toHaveLength(6);
    expect(r.events[0]).toEqual({
      eventId: 'ori-1',
      userId: 'r17850',
      type: 'purchase',
      timestamp: '2010-12-01T08:26:00Z',
      properties: { item: '85123A', quantity: 6, price: 2.55 },
    });
    expect(r.events[2]?.properties).toEqual({ item: '22041', quantity: 48, price: 2.1 });
    // A cancellation names the same item (codes upper-cased) as a return with a positive quantity.
    expect(r.events[3]).toMatchObject({ userId: 'r17850', type: 'return', properties: { item: '85123A', quantity: 1 } });
    expect(r.country).toEqual(
      new Map([
        ['17850', 'United Kingdom'],
        ['12345', 'France'],
      ]),
    );
    expect(() => readRetailItems(join(d.dir, 'none'))).toThrow(NotFoundError);
  });

  it('the evaluation specs: the same split and settings, items only where named', () => {
    const s = itemsSpecs();
    expect(s.country_items.features.items).toMatchObject({ property: 'item', event: 'purchase', valueProperty: 'quantity', pooling: 'sqrtn' });
    expect(s.country_aggregates.features.items).toBeUndefined();
    expect(s.repurchase_aggregates.features.items).toBeUndefined();
    expect(s.repurchase_items.asOf).toBe('2011-08-31T23:59:59.999Z');
    for (const k of ['country_aggregates', 'country_items', 'repurchase_aggregates', 'repurchase_items'] as const) {
      expect(s[k].split).toMatchObject({ kind: 'users', validation: 0.15, test: 0.25, seed: 42 });
      expect(s[k].training).toEqual(s.country_items.training);
    }
  });
});
