import type { ItemInput } from '../db/stores/items.ts';
import { PRODUCTS } from './catalog.ts';

/**
 * The demo shop's item catalogue: every product in its three variants, as events name them
 * (`product_id` = product id + variant suffix; reviews name the plain id).
 */
export function demoItemCatalogue(): ItemInput[] {
  const variants: [suffix: string, label: string, factor: number][] = [
    ['', '', 1],
    ['-basic', ' (basic)', 0.7],
    ['-pro', ' (pro)', 1.5],
  ];
  return PRODUCTS.flatMap((p) =>
    variants.map(([suffix, label, factor]) => ({ id: p.id + suffix, title: `${p.name}${label}`, category: p.category, price: Math.round(p.basePrice * factor * 100) / 100 })),
  );
}
