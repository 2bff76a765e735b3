import { certificatePageMm, type CertificateTemplate } from '@registra/core';
import { useEffect, useRef, useState, type RefObject } from 'react';

const PX_PER_MM = 96 / 25.4;

/**
 * The certificate as it will print, scaled to the width available. The document runs in a
 * sandboxed frame without scripts; `allow-modals` lets the app print it when offline.
 */
export function CertificatePreview({
  html,
  template,
  frame,
}: {
  html: string;
  template: CertificateTemplate;
  frame: RefObject<HTMLIFrameElement | null>;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const page = certificatePageMm(template);
  const pageWidth = page.width * PX_PER_MM;
  const pageHeight = page.height * PX_PER_MM;
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => setWidth(entry?.contentRect.width ?? 0));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const scale = width > 0 ? Math.min(1, width / pageWidth) : 0;
  return (
    <div ref={box} className="certificate-preview" style={{ height: pageHeight * scale }}>
      <iframe
        ref={frame}
        title="Certificate preview"
        sandbox="allow-same-origin allow-modals"
        srcDoc={html}
        data-testid="certificate-preview"
        style={{
          width: pageWidth,
          height: pageHeight,
          transform: `scale(${scale})`,
          transformOrigin: 'top left',
        }}
      />
    </div>
  );
}
