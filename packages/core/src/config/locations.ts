import type { JurisdictionLevel, Location, LocationType } from './schema.js';

/** The location hierarchy, indexed for the questions the rules ask of it. */
export class LocationIndex {
  readonly #byId = new Map<string, Location>();
  readonly #children = new Map<string, string[]>();

  constructor(readonly all: readonly Location[]) {
    for (const location of all) {
      this.#byId.set(location.id, location);
      if (location.parentId !== null) {
        const siblings = this.#children.get(location.parentId) ?? [];
        siblings.push(location.id);
        this.#children.set(location.parentId, siblings);
      }
    }
  }

  get(id: string): Location | undefined {
    return this.#byId.get(id);
  }

  /** The location itself, then its parent, up to the root. Stops at a cycle or a missing parent. */
  lineage(id: string): Location[] {
    const chain: Location[] = [];
    const seen = new Set<string>();
    let current = this.#byId.get(id);
    while (current && !seen.has(current.id)) {
      chain.push(current);
      seen.add(current.id);
      current = current.parentId === null ? undefined : this.#byId.get(current.parentId);
    }
    return chain;
  }

  /** Whether `id` lies in the subtree rooted at `ancestorId` (a location is within itself). */
  isWithin(id: string, ancestorId: string): boolean {
    return this.lineage(id).some((location) => location.id === ancestorId);
  }

  ancestorOfType(id: string, type: LocationType): Location | undefined {
    return this.lineage(id).find((location) => location.type === type);
  }

  /** Every location in the subtree rooted at `id`, itself included. */
  subtree(id: string): string[] {
    const found = new Set<string>();
    const stack = [id];
    while (stack.length > 0) {
      const current = stack.pop() as string;
      if (!this.#byId.has(current) || found.has(current)) continue;
      found.add(current);
      for (const child of this.#children.get(current) ?? []) stack.push(child);
    }
    return [...found];
  }

  /** The root of a person's jurisdiction: the ancestor of their office at the role's level. */
  jurisdictionOf(officeId: string, level: JurisdictionLevel): string {
    if (level === 'office') return officeId;
    return this.ancestorOfType(officeId, level)?.id ?? officeId;
  }
}
