import { ActionRefused } from '@registra/client';
import {
  dateIn,
  declarableFields,
  validateDeclaration,
  type Declaration,
  type FieldError,
} from '@registra/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { v7 as uuidv7 } from 'uuid';
import { ActionBlocked } from '../components/ActionBlocked.js';
import { CorrectionDetails } from '../components/CorrectionDetails.js';
import { FormNav } from '../components/FormNav.js';
import { FormPage } from '../components/FormPage.js';
import { RejectionNotice } from '../components/RejectionNotice.js';
import { Review } from '../components/Review.js';
import { flash } from '../flash.js';
import { rememberOpenForm, useAutosave } from '../form/autosave.js';
import { diff, isPathOf, visibleOnly, type FieldValue } from '../form/declaration.js';
import { loadFormSource, type FormMode, type FormSource } from '../form/source.js';
import { submitForm } from '../form/submit.js';
import { errorText, useClient, useObservable, useWorkspace } from '../hooks/index.js';
import { useT } from '../i18n/index.js';
import { go } from '../router.js';

export type { FormMode } from '../form/source.js';

/**
 * A form generated from the configuration: one page at a time, then a review before sending.
 * Every change is kept on the device as it is typed (a draft, with the page the person is on), so
 * that a reload, a killed tab or a lock brings them back to the same page with everything in it.
 */
export function FormScreen({ mode }: { mode: FormMode }) {
  const client = useClient();
  const t = useT();
  const user = useObservable(client.user);
  const workspace = useWorkspace();
  const [source, setSource] = useState<FormSource | null>(null);
  const [values, setValues] = useState<Declaration>({});
  const [annotation, setAnnotation] = useState<Record<string, string>>({});
  const [step, setStep] = useState(0);
  const [touched, setTouched] = useState(false);
  const [showErrors, setShowErrors] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<{ message: string; errors: FieldError[] } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const created = useRef<string | null>(null);
  const draftId = useRef<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const config = workspace.state === 'ready' ? workspace.value.config : null;
  const mounted = useRef(true);
  /** The address this form is at (a key per address in App): the one it may rewrite. */
  const address = useRef(window.location.hash);
  const autosave = useAutosave(client, (draft) => {
    // Saved after the person left the form (the last keystrokes), or as they leave it: the
    // address already names another screen (its hashchange may not have reached the app yet).
    // Rewriting it would pull the person back into the form.
    if (!mounted.current || window.location.hash !== address.current) return;
    draftId.current = draft.id;
    if (address.current === `#/drafts/${draft.id}`) return;
    // From now on the address names the draft: a reload opens it where it was left.
    address.current = `#/drafts/${draft.id}`;
    history.replaceState(null, '', address.current);
    if (user) rememberOpenForm(user.id, `/drafts/${draft.id}`);
  });

  useEffect(() => {
    if (!config) return;
    let alive = true;
    loadFormSource(mode, client, config).then(
      (loaded) => {
        if (!alive) return;
        draftId.current = loaded.draftId;
        setSource(loaded);
        setValues(loaded.values);
        setAnnotation(loaded.annotation);
        setStep(Math.min(loaded.step, loaded.recordType.form.pages.length));
        if (loaded.draftId && user) rememberOpenForm(user.id, `/drafts/${loaded.draftId}`);
      },
      (error: unknown) => alive && setFailure(errorText(error)),
    );
    return () => {
      alive = false;
    };
    // Loaded once: a sync must not overwrite what the person is typing.
  }, [config === null]);

  // Leaving the form (not a reload or a killed tab): nothing to come back to any more.
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      if (user) rememberOpenForm(user.id, null);
    };
  }, []);

  useEffect(() => {
    if (!source || !touched) return;
    autosave.schedule({
      id: draftId.current ?? (draftId.current = uuidv7()),
      recordType: source.recordType.id,
      ...(source.recordId ? { recordId: source.recordId } : {}),
      actionType: source.action,
      declaration: source.recordId ? diff(source.base, values) : values,
      step,
      annotation,
    });
  }, [values, step, annotation, touched]);

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
    return <p className="error">{t.couldNotLoadConfig(workspace.error)}</p>;
  if (failure)
    return (
      <p className="error">
        {t.couldNotOpenForm(failure)} <a href="#/">{t.backToQueues}</a>
      </p>
    );
  if (!source || !config || workspace.state !== 'ready')
    return <p className="empty">{t.loadingForm}</p>;

  const { words, principal } = workspace.value;
  const { recordType } = source;
  const pages = recordType.form.pages;
  const page = step < pages.length ? pages[step] : undefined;
  const pageErrors = errors.filter((e) => page?.fields.some((f) => isPathOf(e.path, f.id)));
  const verb = words.actionLabel({ type: source.action }, recordType.id);
  const correcting = source.action === 'CORRECT';
  const correctionMissing =
    correcting && (!annotation['reason']?.trim() || !annotation['requester']);

  function change(fieldId: string, value: FieldValue | undefined) {
    setNotice(null);
    setTouched(true);
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
      await autosave.flush();
      const draft = await client.drafts.save({
        id: draftId.current ?? uuidv7(),
        recordType: recordType.id,
        ...(source.recordId ? { recordId: source.recordId } : {}),
        actionType: source.action,
        declaration: source.recordId ? diff(source.base, values) : values,
        step,
        annotation,
      });
      draftId.current = draft.id;
      autosave.stop();
      flash(t.draftSaved, '/queue/drafts');
      go('/queue/drafts');
    } catch (error) {
      setNotice(t.couldNotSaveDraft(errorText(error)));
    }
  }

  async function deleteDraft() {
    autosave.stop();
    if (draftId.current) await client.drafts.delete(draftId.current).catch(() => undefined);
    flash(t.draftDeleted, '/queue/drafts');
    go('/queue/drafts');
  }

  async function send() {
    if (!source) return;
    setShowErrors(true);
    setRefusal(null);
    if (errors.length > 0) return;
    if (correctionMissing) {
      setTimeout(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    setSending(true);
    try {
      autosave.stop();
      const recordId = await submitForm(
        client,
        source,
        patch,
        correcting ? annotation : {},
        draftId.current,
        created,
      );
      const target = source.recordId ? `/records/${recordId}` : '/queue/waiting-to-send';
      flash(
        navigator.onLine ? (t.savedMessage[source.action] ?? t.savedOffline) : t.savedOffline,
        target,
      );
      go(target);
    } catch (error) {
      // Not sent: typing goes on being kept on the device.
      setTouched(true);
      setRefusal(
        error instanceof ActionRefused
          ? {
              message: t.notSent(
                error.errors.length > 0
                  ? error.errors.map((e) => words.errorSentence(e, recordType)).join(' ')
                  : error.message,
              ),
              errors: error.errors,
            }
          : { message: t.notSent(errorText(error)), errors: [] },
      );
    } finally {
      setSending(false);
    }
  }

  const sendLabel =
    source.action === 'DECLARE'
      ? recordType.actions.DECLARE?.label
        ? verb
        : t.sendDeclaration
      : source.action === 'NOTIFY'
        ? t.sendNotification
        : correcting
          ? t.requestCorrection
          : t.saveChanges;

  return (
    <section className="form">
      <h1 ref={heading} tabIndex={-1}>
        {source.record
          ? `${verb}: ${words.recordTitle(source.record)}`
          : t.newTitle(words.recordTypeLabel(recordType.id))}
      </h1>
      {source.record && (
        <>
          <RejectionNotice record={source.record} entries={source.entries} words={words} />
          <ActionBlocked
            record={source.record}
            action={source.action}
            config={config}
            principal={principal}
            words={words}
            onAssigned={(record) => setSource({ ...source, record })}
          />
        </>
      )}
      <ol className="steps" aria-label={t.formPages}>
        {[...pages.map((p) => words.pageTitle(p)), t.review].map((name, i) => (
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
          action={source.action}
          words={words}
          principal={principal}
          onChange={change}
        />
      ) : (
        <>
          <Review
            recordType={recordType}
            declaration={declaration}
            base={source.recordId ? source.base : null}
            patch={patch}
            words={words}
            errors={[...errors, ...(refusal?.errors ?? [])]}
            onEditPage={goTo}
          />
          {correcting && (
            <CorrectionDetails
              value={annotation}
              showErrors={showErrors}
              onChange={(next) => {
                setTouched(true);
                setAnnotation(next);
              }}
            />
          )}
        </>
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
      <p className="muted small" aria-live="polite">
        {touched ? t.autosaved : ''}
      </p>
      <FormNav
        step={step}
        lastPage={pages.length - 1}
        sendLabel={sendLabel}
        canSend={errors.length === 0}
        sending={sending}
        hasDraft={draftId.current !== null}
        onBack={() => goTo(step - 1)}
        onNext={next}
        onSend={() => void send()}
        onSaveDraft={() => void saveDraft()}
        onDeleteDraft={() => void deleteDraft()}
      />
    </section>
  );
}
