import type { Person } from '@registra/client';
import {
  displayValue,
  formFields,
  type ActionType,
  type Field,
  type RecordState,
  type RecordStatus,
  type RecordTypeConfig,
  type RegistryConfig,
  type Translations,
} from '@registra/core';
import { FRENCH_RULES } from './i18n/fr.js';
import type { Language, Messages } from './i18n/index.js';

/** A configuration item with texts, translated or not. */
type Texts = { translations?: Translations | undefined } & Record<string, unknown>;

/**
 * Everything the app says about records, in the person's language: the configuration's labels
 * (translated where the configuration translates them), the app's own words, people by name,
 * dates in the locale's way. One instance per configuration, language and directory.
 */
export class Words {
  readonly #people: ReadonlyMap<string, Person>;
  readonly #dates: Intl.DateTimeFormat;
  readonly #times: Intl.DateTimeFormat;

  constructor(
    readonly config: RegistryConfig,
    readonly lang: Language,
    readonly locale: string,
    readonly t: Messages,
    people: readonly Person[],
    readonly me: string,
  ) {
    this.#people = new Map(people.map((p) => [p.id, p]));
    this.#dates = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
    this.#times = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  }

  /** An item's text in the person's language, else the configuration's own. */
  text(item: Texts | undefined, key: string): string {
    if (!item) return '';
    const translated = item.translations?.[this.lang]?.[key];
    return translated ?? (typeof item[key] === 'string' ? (item[key] as string) : '');
  }

  recordType(type: string): RecordTypeConfig | undefined {
    return this.config.recordTypes.get(type);
  }

  recordTypeLabel(type: string): string {
    const recordType = this.recordType(type);
    return recordType ? this.text(recordType, 'label') : type;
  }

  fieldLabel(field: Field): string {
    return this.text(field, 'label');
  }

  pageTitle(page: RecordTypeConfig['form']['pages'][number]): string {
    return this.text(page, 'title');
  }

  /** The record's title from its type's title fields, or its tracking id while those are empty. */
  recordTitle(record: Pick<RecordState, 'type' | 'declaration' | 'trackingId'>): string {
    const parts = (this.recordType(record.type)?.title ?? [])
      .map((field) => this.display(record.declaration[field], undefined))
      .filter(Boolean);
    return parts.length > 0
      ? parts.join(' ')
      : `${this.t.noNameYet} ${groupTrackingId(record.trackingId)}`;
  }

  /** A declaration value as a person reads it (core's displayValue, in the person's words). */
  display(value: unknown, field: Field | undefined): string {
    if (field?.type === 'reference') return ''; // shown as links (ReferenceLinks)
    return displayValue(value, field, this.config, {
      option: (option) => this.text(option, 'label'),
      yes: this.t.yes,
      no: this.t.no,
      date: (day) => this.date(day),
    });
  }

  /** A field id or an error path (`child.placeOfBirth.district`) as the person reads it. */
  pathLabel(path: string, recordType: RecordTypeConfig | undefined): string {
    if (!recordType) return path;
    for (const field of formFields(recordType).values()) {
      if (path === field.id) return this.fieldLabel(field);
      if (path.startsWith(`${field.id}.`)) {
        const part = path.slice(field.id.length + 1);
        return `${this.fieldLabel(field)} (${this.t.partLabels[part] ?? part})`;
      }
    }
    return path;
  }

  /** An error of a field as a sentence that names it: "Date of birth must not be in the future." */
  errorSentence(
    error: { path: string; message: string },
    recordType: RecordTypeConfig | undefined,
  ): string {
    const label = this.pathLabel(error.path, recordType);
    let message = error.message;
    if (this.lang === 'fr') {
      for (const [pattern, french] of FRENCH_RULES) {
        const match = pattern.exec(message);
        if (match) {
          message = french(...match.slice(1));
          break;
        }
      }
    }
    return /^(is|must|has|cannot|ne |n’|est|doit)/.test(message)
      ? this.t.fieldError(label, message)
      : this.t.fieldErrorOther(label, message);
  }

  /** An action's name as the configuration words it ("Book"), or in the app's words. */
  actionLabel(action: { type: ActionType; customType?: string | undefined }, type: string): string {
    const actions = this.recordType(type)?.actions;
    if (action.type === 'CUSTOM') {
      const custom = actions?.CUSTOM.find((c) => c.id === action.customType);
      return custom ? this.text(custom, 'label') : (action.customType ?? this.t.actions['CUSTOM']!);
    }
    const configured = actions?.[action.type as keyof typeof actions] as Texts | undefined;
    if (configured && typeof configured['label'] === 'string')
      return this.text(configured, 'label');
    return this.t.actions[action.type] ?? action.type;
  }

  /** A request waiting for a decision, as a noun: "Correction". */
  requestNoun(
    request: { type: ActionType; customType?: string | undefined },
    type: string,
  ): string {
    return this.t.requestNouns[request.type] ?? this.actionLabel(request, type);
  }

  statusLabel(status: RecordStatus, type: string): string {
    const named = this.recordType(type)?.vocabulary?.statuses?.[status];
    return named ? this.text(named, 'label') : (this.t.statuses[status] ?? status);
  }

  /** A flag in words, never its code: configured, the app's own, or made from its action. */
  flagLabel(flag: string, type: string): string {
    const recordType = this.recordType(type);
    const named = recordType?.vocabulary?.flags?.[flag];
    if (named) return this.text(named, 'label');
    const own = this.t.flags[flag];
    if (own) return own;
    const [stem, state] = flag.split(':');
    if (state === 'requested' || state === 'declined') {
      const custom = recordType?.actions.CUSTOM.find((c) => c.id.toLowerCase() === stem);
      const type = (stem ?? '').toUpperCase().replace(/-/g, '_') as ActionType;
      const what = custom
        ? this.text(custom, 'label')
        : this.requestNoun({ type }, recordType?.id ?? '');
      return state === 'requested' ? this.t.flagRequested(what) : this.t.flagDeclined(what);
    }
    const adding = recordType?.actions.CUSTOM.find((c) => c.addFlags.includes(flag));
    if (adding) return this.text(adding, 'label');
    return flag.charAt(0).toUpperCase() + flag.slice(1).replace(/-/g, ' ');
  }

  /** Someone by name, role and office: "Felix Katongo, Registrar, Ibombo District Office". */
  person(id: string | null | undefined): string {
    if (!id) return this.t.nobody;
    if (id === this.me) return this.t.you;
    if (id === 'system') return this.t.system;
    if (id.startsWith('hook:')) return this.t.hook(this.hookLabel(id.slice(5)));
    const person = this.#people.get(id);
    if (!person) return this.t.someone(id);
    return `${person.name}, ${this.roleLabel(person.role, person.roleLabel)}, ${person.officeName}`;
  }

  /** Someone's name only (for lists): "Felix Katongo". */
  personName(id: string | null | undefined): string {
    if (!id) return this.t.nobody;
    if (id === this.me) return this.t.you;
    return this.#people.get(id)?.name ?? this.person(id);
  }

  /** A hook (one of the country's systems) by its label; one since removed, by its id. */
  hookLabel(id: string): string {
    const hook = this.config.document.hooks.find((h) => h.id === id);
    return hook ? this.text(hook, 'label') : id;
  }

  roleLabel(role: string, fallback = role): string {
    const configured = this.config.roles.get(role);
    return configured ? this.text(configured, 'label') : fallback;
  }

  /** A calendar date (YYYY-MM-DD) in the locale's way. */
  date(day: string): string {
    const at = Date.parse(`${day}T00:00:00Z`);
    return Number.isNaN(at) ? day : this.#dates.format(at);
  }

  /** A moment in the locale's way. */
  when(iso: string | null | undefined): string {
    if (!iso) return '';
    return this.#times.format(new Date(iso));
  }
}

/** `CDKSPBCFCBMK` → `CDKS-PBCF-CBMK`: easier to read out and to type back. */
export function groupTrackingId(id: string): string {
  return id.match(/.{1,4}/g)?.join('-') ?? id;
}

export function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
