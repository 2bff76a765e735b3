import type { FileStatus } from '@registra/client';

/** Where a file stands, in the person's words: on this device, uploading n %, on the server. */
export function fileStateText(status: FileStatus | undefined): string {
  if (!status) return 'On the server';
  switch (status.state) {
    case 'local':
      return 'On this device';
    case 'uploading':
      return `Uploading ${Math.floor((100 * status.uploaded) / Math.max(1, status.size))} %`;
    case 'uploaded':
    case 'downloaded':
      return 'On the server';
    case 'refused':
      return `Refused by the server: ${status.error ?? 'no reason given'}`;
  }
}

/** 183204 → "179 KB". */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
