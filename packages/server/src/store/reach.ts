import { sql, type RawBuilder } from 'kysely';
import type { FeedScope } from './entries.js';

/** The records in a scope: of a readable type in its offices, or assigned to the person. */
export function reachCondition(scope: FeedScope): RawBuilder<unknown> {
  const reach = scope.types.map(({ type, locations }) =>
    locations === null
      ? sql`r.type = ${type}`
      : sql`(r.type = ${type} AND r.created_at_location = ANY(${locations}::text[]))`,
  );
  reach.push(sql`r.assigned_to = ${scope.assignedTo}::uuid`);
  return sql`(${sql.join(reach, sql` OR `)})`;
}
