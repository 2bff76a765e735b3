import { ActionRefused, Unreachable } from '@registra/client';
import {
  allowedActions,
  certificateHtml,
  certificateTemplatesOf,
  type CertificateTemplate,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { credentialQr } from '../certificates/qr.js';
import { CertificatePreview } from '../components/CertificatePreview.js';
import { errorText, useClient, useLoad, useOnline, useWorkspace } from '../hooks/index.js';
import { recordTitle, sentence } from '../labels.js';

const RELATIONSHIPS = [
  ['self', 'The person named on it'],
  ['mother', 'Mother'],
  ['father', 'Father'],
  ['spouse', 'Spouse'],
  ['child', 'Son or daughter'],
  ['sibling', 'Brother or sister'],
  ['guardian', 'Legal guardian'],
  ['informant', 'Informant'],
  ['other', 'Someone else'],
] as const;

const ID_TYPES = [
  ['national-id', 'National ID'],
  ['passport', 'Passport'],
  ['driving-licence', 'Driving licence'],
  ['birth-certificate', 'Birth certificate'],
  ['other', 'Other document'],
] as const;

const LANGUAGES: Readonly<Record<string, string>> = {
  en: 'English',
  fr: 'Français',
  pt: 'Português',
  sw: 'Kiswahili',
};

interface Collector {
  relationship: string;
  name: string;
  idType: string;
  idNumber: string;
}

/**
 * Printing a certificate: the preview (the same template the server prints), who collects it,
 * then the PDF (from the server, with the record's credential in its QR code; offline, the
 * preview itself, marked "not yet verifiable" if the device has no credential), and last the
 * PRINT_CERTIFICATE action with the collector's details.
 */
export function PrintCertificate({ recordId }: { recordId: string }) {
  const client = useClient();
  const workspace = useWorkspace();
  const local = useLoad(
    async () => (await client.records.get(recordId)) ?? client.records.fetch(recordId),
    [recordId],
  );
  if (workspace.state === 'loading' || local.state === 'loading')
    return <p className="empty">Loading…</p>;
  if (workspace.state === 'error')
    return <p className="error">Could not load the configuration: {workspace.error}</p>;
  if (local.state === 'error')
    return <p className="error">Could not load the record: {local.error}</p>;
  if (!local.value) return <p className="empty">This record is not on this device.</p>;
  const { config, principal } = workspace.value;
  const { record } = local.value;
  const templates = certificateTemplatesOf(config, record.type);
  const printable = config.document.certificates.find((c) => c.recordType === record.type);
  const recordType = config.recordTypes.get(record.type);
  const back = (
    <p>
      <a href={`#/records/${record.id}`}>← {recordTitle(record, config)}</a>
    </p>
  );
  if (!printable || templates.length === 0 || !recordType)
    return (
      <>
        {back}
        <p className="empty">This kind of record has no certificate.</p>
      </>
    );
  if (!printable.printableIn.includes(record.status))
    return (
      <>
        {back}
        <p className="empty">
          A certificate can be printed once the record is{' '}
          {printable.printableIn.join(' or ').toLowerCase()}.
        </p>
      </>
    );
  // Where the record type records prints, printing is the action, with its rules.
  const recordsPrints = recordType.actions.PRINT_CERTIFICATE !== undefined;
  const verdict = recordsPrints
    ? allowedActions(record, recordType, principal, config.locations).find(
        (a) => a.type === 'PRINT_CERTIFICATE',
      )?.verdict
    : undefined;
  if (verdict && !verdict.allowed)
    return (
      <>
        {back}
        <p className="error">{sentence(verdict.message)}</p>
      </>
    );
  return (
    <PrintFlow
      record={record}
      config={config}
      templates={templates}
      recordsPrints={recordsPrints}
      back={back}
    />
  );
}

function PrintFlow({
  record,
  config,
  templates,
  recordsPrints,
  back,
}: {
  record: RecordState;
  config: RegistryConfig;
  templates: CertificateTemplate[];
  recordsPrints: boolean;
  back: ReactNode;
}) {
  const client = useClient();
  const online = useOnline();
  const [templateId, setTemplateId] = useState(templates[0]?.id ?? '');
  const template =
    templates.find((t) => t.id === templateId) ?? (templates[0] as CertificateTemplate);
  const [language, setLanguage] = useState(template.languages[0] ?? 'en');
  const lang = template.languages.includes(language) ? language : (template.languages[0] ?? 'en');
  const [credential, setCredential] = useState<string | null | undefined>(undefined);
  const [qr, setQr] = useState('');
  const [collector, setCollector] = useState<Collector>({
    relationship: '',
    name: '',
    idType: 'national-id',
    idNumber: '',
  });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<{ pdfUrl: string | null; copy: number } | null>(null);
  const preview = useRef<HTMLIFrameElement>(null);

  useEffect(() => {
    let alive = true;
    client.credentials.forRecord(record.id).then(
      (found) => alive && setCredential(found),
      () => alive && setCredential(null),
    );
    return () => {
      alive = false;
    };
  }, [client, record.id, online]);
  useEffect(() => {
    let alive = true;
    if (credential) void credentialQr(credential).then((svg) => alive && setQr(svg));
    else setQr('');
    return () => {
      alive = false;
    };
  }, [credential]);
  useEffect(() => () => void (done?.pdfUrl && URL.revokeObjectURL(done.pdfUrl)), [done]);

  const html = useMemo(
    () =>
      certificateHtml(template, lang, record, config, {
        qr,
        notice: credential ? '' : NOT_YET_VERIFIABLE,
        printedAt: new Date().toISOString(),
      }),
    [template, lang, record, config, qr, credential],
  );

  const missing = recordsPrints
    ? (Object.entries(collector) as [keyof Collector, string][])
        .filter(([, value]) => value.trim() === '')
        .map(([key]) => key)
    : [];

  async function print(event: FormEvent) {
    event.preventDefault();
    if (missing.length > 0 || busy) return;
    setBusy(true);
    setProblem(null);
    try {
      let pdfUrl: string | null = null;
      if (online && credential) {
        try {
          pdfUrl = URL.createObjectURL(await client.certificates.pdf(record.id, template.id, lang));
          // Keep the device able to check this certificate, and others, offline later.
          void client.credentials.refresh().catch(() => undefined);
        } catch (error) {
          if (!(error instanceof Unreachable)) throw error;
        }
      }
      // Offline (or the server out of reach): the preview is what prints.
      if (!pdfUrl) preview.current?.contentWindow?.print();
      if (recordsPrints) {
        await client.actions.submit({
          type: 'PRINT_CERTIFICATE',
          recordId: record.id,
          annotation: {
            templateId: template.id,
            language: lang,
            collector: {
              relationship: collector.relationship,
              name: collector.name.trim(),
              idType: collector.idType,
              idNumber: collector.idNumber.trim(),
            },
          },
        });
      }
      setDone({ pdfUrl, copy: record.printCount + 1 });
    } catch (error) {
      setProblem(
        error instanceof ActionRefused
          ? `Not recorded: ${error.message} (${error.code})`
          : `Not printed: ${errorText(error)}`,
      );
    } finally {
      setBusy(false);
    }
  }

  const set = (key: keyof Collector) => (value: string) =>
    setCollector((now) => ({ ...now, [key]: value }));

  return (
    <article className="print-page">
      {back}
      <h1>{template.label[lang] ?? template.id}</h1>
      <p className="record-meta">
        {recordTitle(record, config)}
        {record.registrationNumber && (
          <>
            {' '}
            · registration number <strong>{record.registrationNumber}</strong>
          </>
        )}
        {record.printCount > 0 && (
          <>
            {' '}
            · printed {record.printCount} {record.printCount === 1 ? 'time' : 'times'}
          </>
        )}
      </p>
      {done ? (
        <section className="card notice" role="status" data-testid="print-done">
          <h2>
            {recordsPrints
              ? `Copy ${done.copy} printed${done.copy > 1 ? ' (a reprint)' : ''}`
              : 'Sent to the printer'}
          </h2>
          {recordsPrints && (
            <p>
              Collected by {collector.name.trim()} ({relationshipLabel(collector.relationship)}),{' '}
              {idTypeLabel(collector.idType)} {collector.idNumber.trim()}.
              {online ? '' : ' Saved on this device: it is sent when the device syncs.'}
            </p>
          )}
          {done.pdfUrl && (
            <>
              {/* A browser that shows PDFs prints this one at once; one that does not (many
                  phones) opens it in the system's viewer, which prints it. */}
              {navigator.pdfViewerEnabled && (
                <iframe
                  className="print-frame"
                  title="Certificate PDF"
                  src={done.pdfUrl}
                  onLoad={(e) => {
                    // An automated browser has no print dialog (headless Chromium crashes the
                    // page printing a PDF frame): there the PDF is only produced.
                    if (navigator.webdriver) return;
                    try {
                      e.currentTarget.contentWindow?.print();
                    } catch {
                      // The link below opens it all the same.
                    }
                  }}
                />
              )}
              <p>
                <a
                  className={navigator.pdfViewerEnabled ? '' : 'button primary'}
                  href={done.pdfUrl}
                  target="_blank"
                  rel="noreferrer"
                  download={`${template.id}-${record.registrationNumber ?? record.trackingId}.pdf`}
                  data-testid="certificate-pdf"
                >
                  Open the PDF
                </a>
                {navigator.pdfViewerEnabled
                  ? ' if the print dialog did not appear.'
                  : ' and print it from there.'}
              </p>
            </>
          )}
          <p className="actions">
            <a className="button primary" href={`#/records/${record.id}`}>
              Back to the record
            </a>
            <a className="button" href="#/queue/ready-to-print">
              Ready to print
            </a>
          </p>
        </section>
      ) : (
        <form className="print-layout" onSubmit={(e) => void print(e)} noValidate>
          <section aria-label="Preview" className="print-preview">
            <div className="print-options">
              {templates.length > 1 && (
                <label>
                  Certificate
                  <select value={template.id} onChange={(e) => setTemplateId(e.target.value)}>
                    {templates.map((t) => (
                      <option key={t.id} value={t.id}>
                        {t.label[lang] ?? t.id}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              {template.languages.length > 1 && (
                <label>
                  Language
                  <select
                    value={lang}
                    onChange={(e) => setLanguage(e.target.value)}
                    data-testid="certificate-language"
                  >
                    {template.languages.map((l) => (
                      <option key={l} value={l}>
                        {LANGUAGES[l] ?? l}
                      </option>
                    ))}
                  </select>
                </label>
              )}
            </div>
            {credential === null && (
              <p className="notice small" data-testid="not-yet-verifiable">
                {online
                  ? 'The server has no credential for this record yet: the printout has no QR code.'
                  : 'Offline: this printout carries no QR code and is not yet verifiable. Print it again once the device has synced to give it one.'}
              </p>
            )}
            <CertificatePreview html={html} template={template} frame={preview} />
          </section>
          <section aria-label="Who collects it" className="print-collector">
            {recordsPrints && (
              <fieldset className="group">
                <legend>Who collects the certificate</legend>
                <div className="field">
                  <label htmlFor="collector-relationship">
                    Relationship<span className="required"> *</span>
                  </label>
                  <select
                    id="collector-relationship"
                    value={collector.relationship}
                    onChange={(e) => set('relationship')(e.target.value)}
                    required
                  >
                    <option value="">Choose…</option>
                    {RELATIONSHIPS.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor="collector-name">
                    Full name<span className="required"> *</span>
                  </label>
                  <input
                    id="collector-name"
                    value={collector.name}
                    onChange={(e) => set('name')(e.target.value)}
                    maxLength={200}
                    autoComplete="off"
                    required
                  />
                </div>
                <div className="field">
                  <label htmlFor="collector-id-type">
                    Identity document<span className="required"> *</span>
                  </label>
                  <select
                    id="collector-id-type"
                    value={collector.idType}
                    onChange={(e) => set('idType')(e.target.value)}
                  >
                    {ID_TYPES.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor="collector-id-number">
                    Document number<span className="required"> *</span>
                  </label>
                  <input
                    id="collector-id-number"
                    value={collector.idNumber}
                    onChange={(e) => set('idNumber')(e.target.value)}
                    maxLength={200}
                    autoComplete="off"
                    required
                  />
                </div>
              </fieldset>
            )}
            {record.printCount > 0 && recordsPrints && (
              <p className="muted small">
                This is a reprint: copy {record.printCount + 1} of this certificate.
              </p>
            )}
            {problem && (
              <p className="error" role="alert">
                {problem}
              </p>
            )}
            <div className="actions print-actions">
              <button
                type="submit"
                className="primary"
                disabled={busy || missing.length > 0 || credential === undefined}
                data-testid="print-certificate"
              >
                {busy ? 'Printing…' : 'Print'}
              </button>
              {missing.length > 0 && (
                <span className="muted small">Fill in who collects it to print.</span>
              )}
            </div>
          </section>
        </form>
      )}
    </article>
  );
}

const NOT_YET_VERIFIABLE = 'Not yet verifiable: printed offline, before this device synced';

const relationshipLabel = (value: string) =>
  RELATIONSHIPS.find(([v]) => v === value)?.[1].toLowerCase() ?? value;
const idTypeLabel = (value: string) => ID_TYPES.find(([v]) => v === value)?.[1] ?? value;
