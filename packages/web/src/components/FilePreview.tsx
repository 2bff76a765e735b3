import type { FileStatus } from '@registra/client';
import type { FileValue } from '@registra/core';
import { fileSize, fileStateText } from '../files/status.js';
import { useFileUrl } from '../files/url.js';
import type { Words } from '../words.js';

/**
 * One file: a thumbnail of a photo (a document's name otherwise), its size, where it stands
 * (on this device, uploading n %, on the server), and a link that opens it.
 */
export function FilePreview({
  value,
  status,
  words,
}: {
  value: FileValue;
  words: Words;
  /** The device's status of the file; absent for a file the device never had. */
  status: FileStatus | undefined;
}) {
  const { url, missing } = useFileUrl(value.sha256);
  const image = value.type.startsWith('image/');
  const state = fileStateText(status, words);
  return (
    <div className="file-preview" data-file={value.sha256}>
      {image && url ? (
        <img className="thumbnail" src={url} alt={value.name} />
      ) : (
        <span className="thumbnail document" aria-hidden="true">
          {image ? '🖼' : '📄'}
        </span>
      )}
      <span className="file-details">
        {url ? (
          <a href={url} target="_blank" rel="noopener" download={image ? undefined : value.name}>
            {value.name}
          </a>
        ) : (
          <span>{value.name}</span>
        )}
        <span className="muted small">
          {fileSize(value.size, words)} ·{' '}
          <span
            data-testid="file-state"
            className={status?.state === 'refused' ? 'field-error' : undefined}
            role={status?.state === 'uploading' ? 'status' : undefined}
          >
            {state}
          </span>
          {missing && !url && ` · ${words.t.fileNotHere}`}
        </span>
        {status?.state === 'uploading' && (
          <progress
            max={value.size}
            value={status.uploaded}
            aria-label={words.t.uploadingFile(value.name)}
          />
        )}
      </span>
    </div>
  );
}
