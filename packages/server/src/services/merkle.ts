import { createHash } from 'node:crypto';

/**
 * The Merkle tree of a checkpoint, as RFC 6962 (2.1) and RFC 9162 (2.1) define it: SHA-256, a
 * leaf hashed as `SHA-256(0x00 || data)` and an inner node as `SHA-256(0x01 || left || right)`,
 * so that no leaf can pass for a node; a tree of n leaves splits at the largest power of two
 * below n. The root of no leaves is SHA-256 of nothing. Any RFC 6962 verifier (Certificate
 * Transparency's, for one) checks the inclusion proofs made here.
 *
 * A checkpoint's leaf is a record: its data is the record's id (16 bytes) followed by its head
 * hash (32 bytes), so that a proof says which record had which head. Leaves go in record-id order.
 */

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const EMPTY_ROOT = createHash('sha256').digest();

/** A checkpoint leaf's hash: the record's id and head hash (hex). */
export function leafHash(recordId: string, headHash: string): Buffer {
  return createHash('sha256')
    .update(LEAF)
    .update(Buffer.from(recordId.replace(/-/g, ''), 'hex'))
    .update(Buffer.from(headHash, 'hex'))
    .digest();
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

interface Subtree {
  hash: Buffer;
  size: number;
  /** Whether the leaf whose audit path is being collected is in it. */
  holdsTarget: boolean;
}

/**
 * Builds the root from leaves given one at a time, keeping one hash per set bit of the count
 * (at most 64): a million leaves take no more memory than ten. The audit path of the leaf added
 * as the target is collected on the way (RFC 9162 2.1.3.1, leaf to root).
 */
export class MerkleBuilder {
  readonly #stack: Subtree[] = [];
  readonly #path: Buffer[] = [];
  #size = 0;
  #target: number | null = null;

  get size(): number {
    return this.#size;
  }

  /** The index of the leaf added as `target`, if one was. */
  get targetIndex(): number | null {
    return this.#target;
  }

  /** Adds the next leaf; `target`: collect this leaf's audit path (one leaf at most). */
  add(leaf: Buffer, target = false): void {
    if (target) {
      if (this.#target !== null) throw new Error('one target leaf at most');
      this.#target = this.#size;
    }
    let right: Subtree = { hash: leaf, size: 1, holdsTarget: target };
    this.#size += 1;
    // Two subtrees of one size make one of twice the size: the count's binary carry.
    for (let top = this.#stack.at(-1); top && top.size === right.size; top = this.#stack.at(-1)) {
      this.#stack.pop();
      right = this.#join(top, right);
    }
    this.#stack.push(right);
  }

  #join(left: Subtree, right: Subtree): Subtree {
    if (left.holdsTarget) this.#path.push(right.hash);
    if (right.holdsTarget) this.#path.push(left.hash);
    return {
      hash: nodeHash(left.hash, right.hash),
      size: left.size + right.size,
      holdsTarget: left.holdsTarget || right.holdsTarget,
    };
  }

  /** The root, and the target's audit path (empty without a target). Ends the builder. */
  finish(): { root: Buffer; size: number; path: Buffer[] } {
    // The perfect subtrees left, largest first; RFC 6962 joins them from the right.
    let right = this.#stack.pop();
    if (!right) return { root: EMPTY_ROOT, size: 0, path: [] };
    for (let left = this.#stack.pop(); left; left = this.#stack.pop()) {
      right = this.#join(left, right);
    }
    return { root: right.hash, size: this.#size, path: this.#path };
  }
}

/**
 * Whether `path` proves that `leaf` is the leaf at `index` of a tree of `size` leaves with this
 * root (RFC 9162 2.1.3.2).
 */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  path: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}
