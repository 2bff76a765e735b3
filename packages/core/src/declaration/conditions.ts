import jsonLogic from 'json-logic-js';
import type { Declaration } from '../contracts/action.js';
import type { Condition } from '../config/schema.js';
import { nestDeclaration, type JsonObject } from './merge.js';

/** Evaluates a configured condition (json-logic) against a declaration. */
export function conditionHolds(condition: Condition, declaration: Declaration): boolean {
  return conditionHoldsOn(condition, nestDeclaration(declaration));
}

/** The same, against a declaration nested once (nestDeclaration) for many conditions. */
export function conditionHoldsOn(condition: Condition, nested: JsonObject): boolean {
  return jsonLogic.truthy(jsonLogic.apply(condition as jsonLogic.RulesLogic, nested));
}

export function isCondition(value: unknown): boolean {
  return jsonLogic.is_logic(value);
}

/** Every path a condition reads with `var`, for checking a configuration's references. */
export function conditionVariables(condition: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [operator, args] of Object.entries(node)) {
      if (operator === 'var') {
        const name = Array.isArray(args) ? args[0] : args;
        if (typeof name === 'string' && name !== '') found.push(name);
        else if (typeof name === 'number') found.push(String(name));
      } else {
        visit(args);
      }
    }
  };
  visit(condition);
  return found;
}
