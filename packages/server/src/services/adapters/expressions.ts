import { ConfigurationError, type AdapterHeader, type FieldError } from '@registra/core';
import jsonata from 'jsonata';

/** A JSONata expression of an adapter's (https://jsonata.org), compiled once at start. */
export class Expression {
  readonly #compiled: jsonata.Expression;

  constructor(
    readonly source: string,
    /** Where the configuration writes it, for messages: `adapters.0.mapping`. */
    readonly path: string,
  ) {
    this.#compiled = jsonata(source);
  }

  /** Its value over `input` (undefined when it selects nothing); a failure throws MappingError. */
  async evaluate(input: unknown): Promise<unknown> {
    try {
      return await this.#compiled.evaluate(input);
    } catch (error) {
      throw new MappingError(this.path, describeJsonataError(error));
    }
  }
}

/** An expression that failed on the data given: the adapter's error, never the server's. */
export class MappingError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'MappingError';
  }
}

function describeJsonataError(error: unknown): string {
  const e = error as { message?: string; code?: string; position?: number };
  const at = typeof e.position === 'number' ? ` (at character ${e.position})` : '';
  return `${e.message ?? String(error)}${at}`;
}

/**
 * Compiles an adapter's expressions at start: each syntax error is reported at its path, all at
 * once, like the configuration's other problems.
 */
export class ExpressionCompiler {
  readonly errors: FieldError[] = [];

  compile(source: string, path: string): Expression {
    try {
      return new Expression(source, path);
    } catch (error) {
      this.errors.push({
        path,
        message: `not a valid JSONata expression: ${describeJsonataError(error)}`,
      });
      return new Expression('undefined', path);
    }
  }

  /** The headers' values from the environment; a variable that is not set is an error. */
  headers(
    headers: readonly AdapterHeader[],
    env: Readonly<Record<string, string | undefined>>,
    path: string,
  ): Record<string, string> {
    const values: Record<string, string> = {};
    headers.forEach((header, h) => {
      const value = env[header.valueEnv];
      if (!value) {
        this.errors.push({
          path: `${path}.headers.${h}.valueEnv`,
          message: `${header.valueEnv} is not set`,
        });
        return;
      }
      values[header.name.toLowerCase()] = `${header.prefix ?? ''}${value}`;
    });
    return values;
  }

  /** Throws every error collected, if any. */
  done(): void {
    if (this.errors.length > 0) throw new ConfigurationError(this.errors);
  }
}
