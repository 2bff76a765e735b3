import { z } from 'zod';

/** How a field of a suspected duplicate matched (PROTOCOL 10). */
export const EVIDENCE_MATCHES = ['exact', 'fuzzy', 'phonetic', 'dateRange', 'none'] as const;
export const EvidenceMatchSchema = z.enum(EVIDENCE_MATCHES);
export type EvidenceMatch = z.infer<typeof EvidenceMatchSchema>;

/**
 * One field compared: this record's value, the candidate's, and how they matched. A side that is
 * empty is absent. `with` names the candidate's field the value matched when it is another one of
 * the same person's names (a first name written as the surname).
 */
export const FieldEvidenceSchema = z.strictObject({
  this: z.json().optional(),
  that: z.json().optional(),
  match: EvidenceMatchSchema,
  /** The field's own score (0 to 1), when both sides are filled. */
  score: z.number().min(0).max(1).optional(),
  with: z.string().max(128).optional(),
});
export type FieldEvidence = z.infer<typeof FieldEvidenceSchema>;

/**
 * A suspected duplicate: the other record, its score (0 to 1) and the evidence per field. A
 * candidate outside the reader's reach is shown with its id and score only.
 */
export const DuplicateCandidateSchema = z.strictObject({
  recordId: z.uuid(),
  score: z.number().min(0).max(1),
  evidence: z.record(z.string().max(128), FieldEvidenceSchema).optional(),
});
export type DuplicateCandidate = z.infer<typeof DuplicateCandidateSchema>;

/**
 * The annotation of a DUPLICATES_FOUND entry: every candidate with its evidence, as stored. A
 * reader shown the entry sees candidates out of their reach without evidence, and folds it alike.
 */
export const DuplicatesFoundAnnotationSchema = z.object({
  candidates: z.array(DuplicateCandidateSchema).min(1).max(50),
});
