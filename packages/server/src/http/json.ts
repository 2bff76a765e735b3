import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { ProblemError } from '../services/problem.js';

/** No real body nests deeper; a deeper one is an attack on the validators' recursion. */
export const MAX_JSON_DEPTH = 64;

/** Nesting depth of a JSON text, counted outside strings, stopping as soon as it exceeds `limit`. */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * JSON bodies: prototype-poisoning safe (secure-json-parse, as Fastify's own), depth-limited. They
 * are the only bodies the API takes: Fastify's default text/plain parser is removed, so any other
 * media type is answered 415.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    ['application/json', 'application/problem+json'],
    { parseAs: 'string' },
    (_req, body, done) => {
      const text = body as string;
      if (text.trim() === '') {
        done(
          new ProblemError(400, 'INVALID_INPUT', 'the body is empty; send a JSON object'),
          undefined,
        );
        return;
      }
      if (exceedsDepth(text, MAX_JSON_DEPTH)) {
        done(
          new ProblemError(
            400,
            'INVALID_INPUT',
            `the body nests deeper than ${MAX_JSON_DEPTH} levels`,
          ),
          undefined,
        );
        return;
      }
      try {
        done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
      } catch (error) {
        done(
          new ProblemError(
            400,
            'INVALID_INPUT',
            `the body is not valid JSON: ${(error as Error).message}`,
          ),
          undefined,
        );
      }
    },
  );
}
