/** Types a browser can draw on a canvas, and so downscale. */
const DRAWABLE = new Set(['image/jpeg', 'image/png', 'image/webp']);

/**
 * A photo made smaller on the device before it is kept and uploaded: its longest side at most
 * `longestSide` pixels, as a JPEG (quality 0.85), the way it is shown (EXIF orientation applied).
 * A file that is not a drawable image, or already small enough, is kept as it is; so is the
 * original when the field does not take JPEG or when the result would not be smaller.
 */
export async function downscaled(
  file: File,
  longestSide: number,
  accept: readonly string[] | undefined,
): Promise<Blob> {
  if (!DRAWABLE.has(file.type) || (accept && !accept.includes('image/jpeg'))) return file;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return file; // not an image after all: the server's sniffing will say so
  }
  const scale = Math.min(1, longestSide / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === 'image/jpeg') {
    bitmap.close();
    return file;
  }
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) {
    bitmap.close();
    return file;
  }
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise<Blob | null>((resolve) =>
    canvas.toBlob(resolve, 'image/jpeg', 0.85),
  );
  return blob && blob.size < file.size ? blob : file;
}

/** The name a downscaled photo is kept under: the original's, as a .jpg. */
export function jpegName(name: string): string {
  return `${name.replace(/\.[^.]*$/, '') || 'photo'}.jpg`;
}
