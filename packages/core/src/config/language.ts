import { z } from 'zod';

/** A language tag such as `en`, `fr` or `pt-BR`: of translations and of certificate templates. */
export const LanguageSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a language tag such as "fr" or "pt-BR"');
