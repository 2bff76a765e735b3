import {
  describeConfigChange,
  diffConfigurations,
  loadConfiguration,
  type Configuration,
} from '@registra/core';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const raw = (): Record<string, unknown> & Configuration =>
  JSON.parse(
    readFileSync(new URL('../../../examples/civil-registry/config.json', import.meta.url), 'utf8'),
  );

/** The document as the server loads it (defaults filled in), or the test fails on its problems. */
function load(document: unknown): Configuration {
  const loaded = loadConfiguration(document);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.config.document;
}

it('finds no change between a configuration and itself', () => {
  expect(diffConfigurations(load(raw()), load(raw()))).toEqual([]);
});

it('lists what a new configuration changes, in words an operator reads before applying it', () => {
  const next = raw();
  next.version = `${raw().version}.1`;
  const birth = next.recordTypes.find((t) => t.id === 'birth')!;
  const child = birth.form.pages.find((p) => p.id === 'child')!;
  // A field added, one removed, one reworded; a page retitled.
  child.fields.push({
    id: 'child.nickname',
    type: 'text',
    label: 'Nickname',
    required: false,
    maxLength: 1000,
  });
  child.fields = child.fields.filter((f) => f.id !== 'child.weightAtBirth');
  // Nor may the DCI API offer it to partners' queries any more (the configuration checks that).
  for (const type of next.dci?.recordTypes ?? [])
    type.queryFields = type.queryFields.filter((f) => f !== 'child.weightAtBirth');
  const firstName = child.fields.find((f) => f.id === 'child.firstName')!;
  firstName.label = 'Given name(s)';
  firstName.required = !firstName.required;
  child.title = 'The child';
  // An action removed; a role's permissions changed; a role added.
  delete (birth.actions as Record<string, unknown>)['ARCHIVE'];
  const agent = next.roles.find((r) => r.id === 'field-agent')!;
  const dropped = agent.permissions[0]!;
  agent.permissions = agent.permissions.slice(1);
  next.roles.push({ id: 'auditor', label: 'Auditor', jurisdiction: 'country', permissions: [] });

  const lines = diffConfigurations(load(raw()), load(next)).map(describeConfigChange);
  const droppedId = typeof dropped === 'string' ? dropped : dropped.permission;
  expect(lines).toEqual([
    `version ${raw().version} -> ${next.version}: entries accepted from now on record ${next.version}; earlier ones keep ${raw().version}`,
    `~ birth: page child title "Child's details" -> "The child"`,
    '- birth: field child.weightAtBirth "Weight at birth (kg)" (values already recorded stay in the log)',
    '+ birth: field child.nickname "Nickname"',
    '~ birth: field child.firstName label "First name(s)" -> "Given name(s)"',
    '~ birth: field child.firstName changes required',
    '- birth: action ARCHIVE',
    '+ role auditor "Auditor"',
    `~ role field-agent: -${droppedId}`,
  ]);
});

it('warns when the document changes under the same version', () => {
  const next = raw();
  next.roles[0]!.label = 'Field officer';
  const lines = diffConfigurations(load(raw()), load(next)).map(describeConfigChange);
  expect(lines[0]).toBe(
    `! version ${raw().version} is unchanged: a changed configuration needs a new version (the server refuses it otherwise)`,
  );
  expect(lines).toContain(
    `~ role ${next.roles[0]!.id}: "${raw().roles[0]!.label}" -> "Field officer"`,
  );
});
