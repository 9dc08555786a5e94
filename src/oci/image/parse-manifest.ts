// Parsing a fetched document that may be an image manifest or an index: a registry answers a
// manifests request with either, and says which in Content-Type; an OCI layout says it in the
// descriptor; some old registries send a generic type and only the document tells.

import { InvalidArgumentError } from '../../errdefs/index.ts';
import { fail, isObject } from './json-fields.ts';
import { checkSizeLimit, MAX_MANIFEST_SIZE } from './limits.ts';
import { indexMediaTypes, MediaType, manifestMediaTypes, schema1MediaTypes } from './media-types.ts';
import type { Index, Manifest } from './types.ts';
import { schema1Error, validateIndex, validateManifest } from './validate.ts';

export type ManifestOrIndex =
  | { kind: 'manifest'; mediaType: string; manifest: Manifest }
  | { kind: 'index'; mediaType: string; index: Index };

type Kind = ManifestOrIndex['kind'];

const named: Record<Kind, string> = { index: 'an index', manifest: 'an image manifest' };

// Content types that say nothing about the document; the document's own fields decide.
const genericTypes = ['application/json', 'application/octet-stream', 'text/plain'];

function kindOf(mediaType: string): Kind | undefined {
  if (indexMediaTypes.includes(mediaType)) return 'index';
  if (manifestMediaTypes.includes(mediaType)) return 'manifest';
  return undefined;
}

/** `Application/JSON; charset=utf-8` → `application/json` (RFC 9110: parameters and case ignored). */
function essence(mediaType: string | undefined): string | undefined {
  const type = mediaType?.split(';', 1)[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function decode(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    if (err instanceof TypeError) throw new InvalidArgumentError(`${what}: not UTF-8 text`, { cause: err });
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new InvalidArgumentError(`${what}: not valid JSON: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Parses and validates a manifest or index. `mediaType` is the Content-Type header or the
 * descriptor's mediaType, when known; `what` names the document in errors (`manifest sha256:…`).
 * Docker schema 1 is refused with a message saying how to fix the image. The bytes must already
 * be bounded by MAX_MANIFEST_SIZE (checkSizeLimit / readLimited); this checks again to be safe.
 */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  mediaType: string | undefined,
  what: string,
): ManifestOrIndex {
  const at = { doc: what, path: '' };
  const header = essence(mediaType);
  if (header !== undefined && schema1MediaTypes.includes(header)) throw schema1Error(what);
  const headerKind = header === undefined ? undefined : kindOf(header);
  if (header !== undefined && headerKind === undefined && !genericTypes.includes(header)) {
    fail(at, `unsupported media type ${JSON.stringify(header)}; expected an image manifest or index`);
  }
  checkSizeLimit(bytes.byteLength, MAX_MANIFEST_SIZE, what);

  const doc = decode(bytes, what);
  if (!isObject(doc)) fail(at, 'expected a JSON object');
  const docType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (doc.schemaVersion === 1 || (docType !== undefined && schema1MediaTypes.includes(docType))) {
    throw schema1Error(what);
  }
  const docKind = docType === undefined ? undefined : kindOf(docType);
  if (headerKind !== undefined && docKind !== undefined && headerKind !== docKind) {
    fail(at, `served as ${header} but its mediaType field says ${docType}`);
  }

  // The fields present must agree with the declared type: a document with both `manifests` and
  // `layers` could be read one way when verified and the other when used (CVE-2021-41190, fixed in
  // image-spec 1.0.2 and by containerd's validateMediaType).
  const looksLikeIndex = 'manifests' in doc;
  const looksLikeManifest = 'config' in doc || 'layers' in doc;
  if (looksLikeIndex && looksLikeManifest) {
    fail(at, 'has both "manifests" and "config"/"layers": ambiguous between an index and a manifest');
  }
  const fieldsKind: Kind | undefined = looksLikeIndex ? 'index' : looksLikeManifest ? 'manifest' : undefined;
  const kind = headerKind ?? docKind ?? fieldsKind;
  if (kind === undefined)
    fail(at, 'neither an image manifest nor an index: no media type, no "manifests" or "layers"');
  if (fieldsKind !== undefined && fieldsKind !== kind) {
    fail(at, `declared ${named[kind]} but has the fields of ${named[fieldsKind]}`);
  }

  const effective =
    (headerKind !== undefined ? header : undefined) ??
    docType ??
    (kind === 'index' ? MediaType.ociIndex : MediaType.ociManifest);
  if (kind === 'index') return { kind, mediaType: effective, index: validateIndex(doc, what) };
  return { kind, mediaType: effective, manifest: validateManifest(doc, what) };
}
