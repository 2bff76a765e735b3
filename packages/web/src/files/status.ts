import type { FileStatus } from '@registra/client';
import type { Words } from '../words.js';

/** Where a file stands, in the person's words: on this device, uploading n %, on the server. */
export function fileStateText(status: FileStatus | undefined, { t }: Words): string {
  if (!status) return t.fileOnServer;
  switch (status.state) {
    case 'local':
      return t.fileOnDevice;
    case 'uploading':
      return t.fileUploading(Math.floor((100 * status.uploaded) / Math.max(1, status.size)));
    case 'uploaded':
    case 'downloaded':
      return t.fileOnServer;
    case 'refused':
      return t.fileRefused(status.error ?? t.noReasonGiven);
  }
}

/** 183204 → "179 KB" (in French "179 Ko"). */
export function fileSize(bytes: number, { t, locale }: Words): string {
  const [b, kb, mb] = t.sizeUnits;
  if (bytes < 1024) return `${bytes} ${b}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} ${kb}`;
  const megabytes = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  return `${megabytes.format(bytes / (1024 * 1024))} ${mb}`;
}
