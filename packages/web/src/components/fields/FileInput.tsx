import { FileValueSchema, formFields, type Field } from '@registra/core';
import { useState } from 'react';
import { downscaled, jpegName } from '../../files/downscale.js';
import { fileSize } from '../../files/status.js';
import { useClient, useObservable } from '../../hooks/index.js';
import type { FieldValue } from '../../form/declaration.js';
import type { Words } from '../../words.js';
import { FilePreview } from '../FilePreview.js';

type FileField = Extract<Field, { type: 'file' }>;

/**
 * A file or photo field (PROTOCOL 9): the camera (`capture`) or a file chooser; photos are
 * downscaled on the device (longest side from the configuration, 1600 px by default) and kept in
 * the SDK's file queue at once, so that nothing chosen is lost offline; the field holds the file's
 * value ({sha256, name, type, size}) and shows its preview and where it stands.
 */
export function FileInput({
  field,
  value,
  words,
  disabled,
  describedBy,
  onChange,
}: {
  field: FileField;
  value: FieldValue | undefined;
  words: Words;
  disabled: boolean;
  describedBy: string | undefined;
  onChange: (value: FieldValue | undefined) => void;
}) {
  const { t, config } = words;
  const client = useClient();
  const statuses = useObservable(client.files.status);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const current = FileValueSchema.safeParse(value);
  const photos = !field.accept || field.accept.some((type) => type.startsWith('image/'));
  const recordType = [...config.recordTypes.values()].find(
    (type) => formFields(type).get(field.id) === field,
  );

  async function choose(file: File | undefined): Promise<void> {
    if (!file) return;
    setBusy(true);
    setProblem(null);
    try {
      const longest = config.document.files.imageLongestSide;
      const kept = await downscaled(file, longest, field.accept);
      const type = kept.type || file.type;
      if (field.accept && !field.accept.includes(type)) {
        setProblem(t.fileTypeRefused(field.accept.join(', ')));
        return;
      }
      if (kept.size > field.maxBytes) {
        setProblem(t.fileTooLarge(fileSize(kept.size, words), fileSize(field.maxBytes, words)));
        return;
      }
      const chosen = await client.files.add(kept, {
        name: kept === file ? file.name : jpegName(file.name),
        type,
        ...(recordType ? { recordType: recordType.id, field: field.id } : {}),
      });
      onChange(chosen);
    } catch (error) {
      setProblem(t.fileNotKept((error as Error).message));
    } finally {
      setBusy(false);
    }
  }

  const accept = field.accept?.join(',');
  return (
    <div className="file-input">
      {current.success && (
        <FilePreview value={current.data} status={statuses[current.data.sha256]} words={words} />
      )}
      <div className="file-buttons">
        {photos && (
          <label className="button secondary">
            {current.success ? t.takeAnotherPhoto : t.takePhoto}
            <input
              type="file"
              className="visually-hidden"
              accept={
                field.accept?.filter((type) => type.startsWith('image/')).join(',') || 'image/*'
              }
              capture="environment"
              disabled={disabled || busy}
              data-testid={`${field.id}-camera`}
              onChange={(e) => void choose(e.target.files?.[0])}
            />
          </label>
        )}
        <input
          id={field.id}
          type="file"
          accept={accept}
          disabled={disabled || busy}
          aria-describedby={describedBy}
          onChange={(e) => void choose(e.target.files?.[0])}
        />
        {current.success && !disabled && (
          <button type="button" className="small-button" onClick={() => onChange(undefined)}>
            {t.removeFile}
          </button>
        )}
      </div>
      {busy && <p className="muted small">{t.preparingFile}</p>}
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
