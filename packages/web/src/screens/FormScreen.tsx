import { ActionRefused } from '@registra/client';
import {
  dateIn,
  declarableFields,
  validateDeclaration,
  type Declaration,
  type FieldError,
} from '@registra/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ActionBlocked } from '../components/ActionBlocked.js';
import { FormNav } from '../components/FormNav.js';
import { FormPage } from '../components/FormPage.js';
import { Review } from '../components/Review.js';
import { flash } from '../flash.js';
import { diff, isPathOf, visibleOnly, type FieldValue } from '../form/declaration.js';
import { loadFormSource, type FormMode, type FormSource } from '../form/source.js';
import { savedMessage, submitForm } from '../form/submit.js';
import { errorText, useClient, useWorkspace } from '../hooks/index.js';
import { actionLabel, recordTitle } from '../labels.js';
import { go } from '../router.js';

export type { FormMode } from '../form/source.js';

const SEND_LABELS: Partial<Record<string, string>> = {
  DECLARE: 'Send declaration',
  NOTIFY: 'Send notification',
};

/** A form generated from the configuration: one page at a time, then a review before sending. */
export function FormScreen({ mode }: { mode: FormMode }) {
  const client = useClient();
  const workspace = useWorkspace();
  const [source, setSource] = useState<FormSource | null>(null);
  const [values, setValues] = useState<Declaration>({});
  const [step, setStep] = useState(0);
  const [showErrors, setShowErrors] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<{ message: string; errors: FieldError[] } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const created = useRef<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const config = workspace.state === 'ready' ? workspace.value.config : null;

  useEffect(() => {
    if (!config) return;
    let alive = true;
    loadFormSource(mode, client, config).then(
      (loaded) => {
        if (!alive) return;
        setSource(loaded);
        setValues(loaded.values);
      },
      (error: unknown) => alive && setFailure(errorText(error)),
    );
    return () => {
      alive = false;
    };
    // Loaded once: a sync must not overwrite what the person is typing.
  }, [config === null]);

  const declaration = useMemo(
    () => (source ? visibleOnly(values, source.recordType) : {}),
    [values, source],
  );
  // What the action carries: all answers for a new record, the changes for an existing one.
  const patch = useMemo(
    () => (source?.recordId ? diff(source.base, declaration) : declaration),
    [source, declaration],
  );
  const errors = useMemo(() => {
    if (!source || !config) return [];
    const verdict = validateDeclaration({
      recordType: source.recordType,
      locations: config.locations,
      action: source.action,
      current: source.recordId ? source.base : {},
      patch,
      today: dateIn(config.document.timeZone, new Date()),
    });
    return verdict.ok ? [] : verdict.errors;
  }, [patch, source, config]);

  useEffect(() => heading.current?.focus(), [step]);

  if (workspace.state === 'error')
    return <p className="error">Could not load the configuration: {workspace.error}</p>;
  if (failure)
    return (
      <p className="error">
        Could not open the form: {failure}. <a href="#/">Back to the work queues</a>
      </p>
    );
  if (!source || !config || workspace.state !== 'ready')
    return <p className="empty">Loading the form…</p>;

  const { recordType } = source;
  const pages = recordType.form.pages;
  const page = step < pages.length ? pages[step] : undefined;
  const pageErrors = errors.filter((e) => page?.fields.some((f) => isPathOf(e.path, f.id)));
  const verb = actionLabel({ type: source.action }, config, recordType.id);

  function change(fieldId: string, value: FieldValue | undefined) {
    setNotice(null);
    setValues((current) => {
      const next = { ...current };
      if (value === undefined) delete next[fieldId];
      else next[fieldId] = value;
      return next;
    });
  }

  function goTo(target: number) {
    setShowErrors(false);
    setStep(target);
  }

  function next() {
    setShowErrors(true);
    if (pageErrors.length > 0) {
      // Once the errors are on screen, the first field in error takes the focus.
      setTimeout(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    goTo(step + 1);
  }

  async function saveDraft() {
    if (!source) return;
    try {
      const draft = await client.drafts.save({
        ...(source.draftId ? { id: source.draftId } : {}),
        recordType: recordType.id,
        ...(source.recordId ? { recordId: source.recordId } : {}),
        actionType: source.action,
        declaration: source.recordId ? diff(source.base, values) : values,
      });
      setSource({ ...source, draftId: draft.id });
      setNotice('Draft saved on this device. It waits in Drafts until you send it.');
    } catch (error) {
      setNotice(`Could not save the draft: ${errorText(error)}`);
    }
  }

  async function deleteDraft() {
    if (!source?.draftId) return;
    try {
      await client.drafts.delete(source.draftId);
      flash('Draft deleted.', '/queue/drafts');
      go('/queue/drafts');
    } catch (error) {
      setNotice(`Could not delete the draft: ${errorText(error)}`);
    }
  }

  async function send() {
    if (!source) return;
    setShowErrors(true);
    setRefusal(null);
    if (errors.length > 0) return;
    setSending(true);
    try {
      const recordId = await submitForm(client, source, patch, created);
      const target = source.recordId ? `/records/${recordId}` : '/queue/waiting-to-send';
      flash(savedMessage(source.action, navigator.onLine), target);
      go(target);
    } catch (error) {
      setRefusal(
        error instanceof ActionRefused
          ? { message: `Not sent: ${error.message} (${error.code})`, errors: error.errors }
          : { message: `Not sent: ${errorText(error)}`, errors: [] },
      );
    } finally {
      setSending(false);
    }
  }

  return (
    <section className="form">
      <h1 ref={heading} tabIndex={-1}>
        {source.record
          ? `${verb}: ${recordTitle(source.record, config)}`
          : `New ${recordType.label.toLowerCase()}`}
      </h1>
      {source.record && (
        <ActionBlocked
          record={source.record}
          action={source.action}
          config={config}
          principal={workspace.value.principal}
          onAssigned={(record) => setSource({ ...source, record })}
        />
      )}
      <ol className="steps" aria-label="Form pages">
        {[...pages.map((p) => p.title), 'Review'].map((name, i) => (
          <li
            key={`${i}-${name}`}
            className={i === step ? 'active' : i < step ? 'done' : ''}
            aria-current={i === step ? 'step' : undefined}
          >
            {name}
          </li>
        ))}
      </ol>
      {page ? (
        <FormPage
          page={page}
          values={values}
          declaration={declaration}
          errors={[...(showErrors ? errors : []), ...(refusal?.errors ?? [])]}
          editable={declarableFields(recordType, source.action)}
          config={config}
          onChange={change}
        />
      ) : (
        <Review
          recordType={recordType}
          declaration={declaration}
          config={config}
          errors={[...errors, ...(refusal?.errors ?? [])]}
          onEditPage={goTo}
        />
      )}
      {refusal && (
        <p className="error" role="alert">
          {refusal.message}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <FormNav
        step={step}
        lastPage={pages.length - 1}
        sendLabel={SEND_LABELS[source.action] ?? 'Save changes'}
        canSend={errors.length === 0}
        sending={sending}
        hasDraft={source.draftId !== null}
        onBack={() => goTo(step - 1)}
        onNext={next}
        onSend={() => void send()}
        onSaveDraft={() => void saveDraft()}
        onDeleteDraft={() => void deleteDraft()}
      />
    </section>
  );
}
