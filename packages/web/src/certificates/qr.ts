import QRCode from 'qrcode';

/**
 * A credential's QR code as inline SVG, drawn as the server draws it on its PDFs
 * (packages/server/src/services/certificates.ts): error correction L, without crispEdges.
 */
export async function credentialQr(credential: string): Promise<string> {
  const svg = await QRCode.toString(credential, {
    type: 'svg',
    errorCorrectionLevel: 'L',
    margin: 4,
  });
  return svg
    .replace(' shape-rendering="crispEdges"', '')
    .replace('<svg ', '<svg class="qr" role="img" aria-label="QR code" ');
}
