import { renderSVG } from 'uqr';

/**
 * The QR code of `text` as an inline SVG document, rendered on the server so the enrolment
 * page needs no script (the API returns the same markup as `qrSvg`).
 *
 * A quiet zone of four modules, as ISO/IEC 18004 §6.3.8 asks: phone cameras misread codes
 * that touch dark surroundings. Error correction `M` (15 %) keeps an `otpauth://` URI at a
 * small version while surviving a glare spot. The SVG has a `viewBox` and no fixed size, so
 * CSS sizes it; `role="img"` and the label name it for screen readers, which cannot read it
 * (the key is shown as text beside it).
 *
 * @example
 * qrSvg('otpauth://totp/cloakroom:ada?secret=JBSWY3DPEHPK3PXP&issuer=cloakroom')
 * // '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="QR code" viewBox="0 0 …">…</svg>'
 */
export function qrSvg(text: string, label = 'QR code'): string {
  const svg = renderSVG(text, { ecc: 'M', border: 4 });
  return svg.replace('<svg ', `<svg role="img" aria-label="${escapeAttribute(label)}" `);
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
