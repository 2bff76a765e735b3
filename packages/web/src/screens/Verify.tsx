import type { OfflineVerification } from '@registra/client';
import jsqrModule from 'jsqr';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorText, useClient, useOnline } from '../hooks/index.js';
import { capitalized, when } from '../labels.js';

// jsqr is CommonJS: its module object is the function its types call the default export.
const jsQR = jsqrModule as unknown as typeof jsqrModule.default;

/**
 * Checks a certificate's credential, offline: scanned from its QR code with the camera or pasted.
 * The keys and status lists come from the device's cache (refreshed whenever there is a network),
 * so a border officer or a school can check a paper where there is no connection.
 */
export function Verify() {
  const client = useClient();
  const online = useOnline();
  const [text, setText] = useState('');
  const [result, setResult] = useState<OfflineVerification | null>(null);
  const [checkedAt, setCheckedAt] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [scanning, setScanning] = useState(false);

  useEffect(() => {
    if (!online) return;
    client.credentials.refresh().then(
      () => setCheckedAt(new Date().toISOString()),
      () => undefined,
    );
  }, [client, online]);

  async function check(credential: string) {
    setProblem(null);
    try {
      setResult(await client.credentials.verify(credential));
    } catch (error) {
      setProblem(`Could not check it: ${errorText(error)}`);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (text.trim()) void check(text);
  }

  return (
    <article className="verify-page">
      <h1>Verify a certificate</h1>
      <p className="muted">
        Scan the QR code on a certificate, or paste its credential. The check runs on this device,
        with or without a network.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => setScanning(!scanning)}>
          {scanning ? 'Stop the camera' : 'Scan a QR code'}
        </button>
      </div>
      {scanning && (
        <Scanner
          onFound={(found) => {
            setScanning(false);
            setText(found);
            void check(found);
          }}
          onProblem={(message) => {
            setScanning(false);
            setProblem(message);
          }}
        />
      )}
      <form onSubmit={submit} className="verify-form">
        <label htmlFor="credential">Credential</label>
        <textarea
          id="credential"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="eyJhbGciOiJFUzI1NiIs…"
          spellCheck={false}
          data-testid="credential-input"
        />
        <div className="actions">
          <button type="submit" disabled={!text.trim()}>
            Check
          </button>
        </div>
      </form>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {result && <Outcome result={result} />}
      <p className="muted small" data-testid="verifier-freshness">
        {checkedAt
          ? `Keys and status lists updated ${when(checkedAt)}.`
          : online
            ? 'Updating keys and status lists…'
            : 'Offline: checking against the keys and status lists saved on this device.'}
      </p>
    </article>
  );
}

const VERDICTS = {
  active: ['valid', 'Valid', 'Issued by this registry and still in force.'],
  superseded: [
    'superseded',
    'Superseded',
    'Genuine, but a correction replaced it: ask for the current certificate.',
  ],
  revoked: ['revoked', 'Revoked', 'Genuine, but the registry has revoked it: it is not in force.'],
} as const;

const FAILURES: Record<string, [string, string]> = {
  NOT_FROM_THIS_REGISTRY: [
    'Not from this registry',
    'No key of this registry signed it. It may come from another registry, or be forged.',
  ],
  SIGNATURE_INVALID: ['Altered or forged', 'The signature does not match what it says.'],
  UNREADABLE: ['Not a credential', 'This is not a certificate credential this app can read.'],
};

function Outcome({ result }: { result: OfflineVerification }) {
  if (!result.valid) {
    const code = result.errors[0]?.code ?? 'UNREADABLE';
    const [title, detail] = FAILURES[code] ?? ['Not valid', result.errors[0]?.message ?? ''];
    return (
      <section className="verdict invalid" role="status" data-testid="verdict" data-verdict={code}>
        <h2>{title}</h2>
        <p>{detail}</p>
      </section>
    );
  }
  const [kind, title, detail] = result.status
    ? VERDICTS[result.status]
    : ([
        'unknown',
        'Signature valid',
        'Its status could not be checked on this device yet.',
      ] as const);
  const claims = Object.entries(result.claims ?? {}).filter(
    ([key]) => key !== 'id' && key !== 'recordType',
  );
  return (
    <section className={`verdict ${kind}`} role="status" data-testid="verdict" data-verdict={kind}>
      <h2>{title}</h2>
      <p>{detail}</p>
      <dl className="declaration">
        {claims.map(([key, value]) => (
          <div className="pair" key={key}>
            <dt>{claimLabel(key)}</dt>
            <dd>{claimText(value)}</dd>
          </div>
        ))}
        {result.issuer?.name && (
          <div className="pair">
            <dt>Issued by</dt>
            <dd>{result.issuer.name}</dd>
          </div>
        )}
        {result.validFrom && (
          <div className="pair">
            <dt>Issued on</dt>
            <dd>{when(result.validFrom)}</dd>
          </div>
        )}
      </dl>
      {result.statusCheckedAt && (
        <p className="muted small">Status as of {when(result.statusCheckedAt)}.</p>
      )}
    </section>
  );
}

/** `dateOfBirth` → "Date of birth". */
function claimLabel(key: string): string {
  return capitalized(key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase());
}

/** A claim's value as a person reads it: dates in their language, codes capitalised. */
function claimText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return Object.values(value).filter(Boolean).join(' ');
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text))
    return new Date(`${text}T00:00:00Z`).toLocaleDateString(undefined, {
      dateStyle: 'long',
      timeZone: 'UTC',
    });
  return /^[a-z][a-z-]*$/.test(text) ? capitalized(text.replace(/-/g, ' ')) : text;
}

/** The camera, read a few times a second until a QR code is found (jsQR). */
function Scanner({
  onFound,
  onProblem,
}: {
  onFound: (text: string) => void;
  onProblem: (message: string) => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  // The camera keeps running across the parent's renders: the callbacks are read through refs.
  const found = useRef(onFound);
  const failed = useRef(onProblem);
  found.current = onFound;
  failed.current = onProblem;
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const scan = () => {
      const element = video.current;
      if (stopped || !element || !context) return;
      if (element.readyState >= element.HAVE_ENOUGH_DATA && element.videoWidth > 0) {
        canvas.width = element.videoWidth;
        canvas.height = element.videoHeight;
        context.drawImage(element, 0, 0);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        const code = jsQR(image.data, image.width, image.height, {
          inversionAttempts: 'dontInvert',
        });
        if (code?.data) {
          found.current(code.data);
          return;
        }
      }
      timer = setTimeout(scan, 200);
    };
    navigator.mediaDevices
      ?.getUserMedia({ video: { facingMode: 'environment' } })
      .then(async (media) => {
        stream = media;
        if (stopped || !video.current) return;
        video.current.srcObject = media;
        await video.current.play();
        scan();
      })
      .catch((error: unknown) => failed.current(`The camera could not start: ${errorText(error)}`));
    if (!navigator.mediaDevices) failed.current('This browser gives no access to a camera here.');
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  return (
    <div className="scanner">
      <video ref={video} muted playsInline aria-label="Camera" />
      <p className="muted small">Hold the QR code steady inside the frame.</p>
    </div>
  );
}
