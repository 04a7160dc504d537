import type { Json } from '../core/types.ts';
import type { Queryable } from './sql/executor.ts';

/** Why a user's data is being removed. */
export type EraseReason = 'erasure' | 'profiling_withdrawn';

/**
 * One kind of per-user data. The composition root assembles the list of every section (the
 * stores' and any outside the database, such as the vector index); erasure deletes and the
 * subject-access export returns exactly that list, and a test fails when a table with a user
 * column is covered by none.
 */
export interface UserDataSection {
  /** the export section's name and the key in erasure counts */
  name: string;
  /** the tables this section covers (empty for data outside the database) */
  tables: readonly string[];
  /** inferred from events (traits, vectors, summaries): also removed when profiling consent is withdrawn */
  derived: boolean;
  /** what the export returns for the user; undefined leaves the section out */
  export?(userId: number): Promise<Json>;
  /** deletes the user's rows inside the erasure's one transaction; returns how many went */
  erase?(q: Queryable, userId: number, reason: EraseReason): Promise<number>;
  /** for data outside the database: runs after the commit; a failure is reported, not rolled back */
  afterCommit?(userId: number, reason: EraseReason): Promise<number>;
}
