// Validators for the image-spec's descriptor, manifest and index documents (image-spec 1.1
// descriptor.md, manifest.md, image-index.md). Each takes parsed JSON (`unknown`) and returns the
// typed value holding only the fields berth knows, or throws InvalidArgumentError naming the
// document and the field path. Digests, sizes and the stored bytes stay as they came: a document's
// identity is the digest of its bytes, so nothing here is ever re-serialised.

import { InvalidArgumentError } from '../../errdefs/index.ts';
import {
  type At,
  array,
  digest,
  fail,
  field,
  nonEmptyString,
  object,
  optional,
  required,
  setIf,
  size,
  string,
  stringMap,
  strings,
} from './json-fields.ts';
import { indexMediaTypes, manifestMediaTypes } from './media-types.ts';
import type { Descriptor, Index, Manifest, Platform } from './types.ts';

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The error for Docker's long-deprecated schema 1 manifests, which berth does not convert. */
export function schema1Error(what: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `${what}: Docker schema 1 images are not supported; re-push the image with a current client to convert it to schema 2 or OCI`,
    { hint: 'pull and push it again with a current docker, podman, skopeo or crane' },
  );
}

function checkPlatform(at: At, v: unknown): Platform {
  const o = object(at, v);
  const out: Platform = {
    architecture: required(o, at, 'architecture', nonEmptyString),
    os: required(o, at, 'os', nonEmptyString),
  };
  setIf(out, 'os.version', optional(o, at, 'os.version', string));
  setIf(out, 'os.features', optional(o, at, 'os.features', strings));
  setIf(out, 'variant', optional(o, at, 'variant', string));
  setIf(out, 'features', optional(o, at, 'features', strings));
  return out;
}

function urls(at: At, v: unknown): string[] {
  // descriptor.md: each entry MUST conform to RFC 3986 (foreign layers are fetched from these).
  return array(at, v, (a, x) => {
    const url = string(a, x);
    if (!URL.canParse(url)) fail(a, `not a valid URL: ${JSON.stringify(url)}`);
    return url;
  });
}

function checkDescriptor(at: At, v: unknown): Descriptor {
  const o = object(at, v);
  const out: Descriptor = {
    mediaType: required(o, at, 'mediaType', nonEmptyString),
    digest: required(o, at, 'digest', digest),
    size: required(o, at, 'size', size),
  };
  setIf(out, 'urls', optional(o, at, 'urls', urls));
  setIf(out, 'annotations', optional(o, at, 'annotations', stringMap));
  setIf(out, 'platform', optional(o, at, 'platform', checkPlatform));
  setIf(out, 'artifactType', optional(o, at, 'artifactType', nonEmptyString));
  const data = optional(o, at, 'data', string);
  if (data !== undefined) {
    // descriptor.md: `data` is base64 (RFC 4648) of exactly the referenced content. The length is
    // checked here; the consumer still verifies the digest before trusting the bytes.
    if (!base64.test(data)) fail(field(at, 'data'), 'not valid base64');
    const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
    const decoded = (data.length / 4) * 3 - padding;
    if (decoded !== out.size) {
      fail(field(at, 'data'), `decodes to ${decoded} bytes but size is ${out.size}`);
    }
    out.data = data;
  }
  return out;
}

function descriptors(at: At, v: unknown): Descriptor[] {
  return array(at, v, checkDescriptor);
}

function schemaVersion2(o: Record<string, unknown>, at: At): 2 {
  const version = o.schemaVersion;
  if (version === 1) throw schema1Error(at.doc);
  if (version !== 2) fail(field(at, 'schemaVersion'), `expected 2, got ${JSON.stringify(version)}`);
  return 2;
}

function mediaTypeOf(o: Record<string, unknown>, at: At, allowed: readonly string[]): string | undefined {
  const mediaType = optional(o, at, 'mediaType', string);
  if (mediaType !== undefined && !allowed.includes(mediaType)) {
    fail(field(at, 'mediaType'), `expected ${allowed.join(' or ')}, got ${JSON.stringify(mediaType)}`);
  }
  return mediaType;
}

/** Validates a platform object (an index entry's `platform`, a CRI request's). */
export function validatePlatform(v: unknown, what = 'platform'): Platform {
  return checkPlatform({ doc: what, path: '' }, v);
}

/** Validates a descriptor on its own (a layout's index.json entry, a CRI request's descriptor). */
export function validateDescriptor(v: unknown, what = 'descriptor'): Descriptor {
  return checkDescriptor({ doc: what, path: '' }, v);
}

/** Validates an image manifest (OCI or Docker schema 2); `what` names it in errors. */
export function validateManifest(v: unknown, what = 'manifest'): Manifest {
  const at: At = { doc: what, path: '' };
  const o = object(at, v);
  const out: Manifest = {
    schemaVersion: schemaVersion2(o, at),
    config: required(o, at, 'config', checkDescriptor),
    // manifest.md: "layers SHOULD have at least one entry" — artifacts may have none, so no error.
    layers: required(o, at, 'layers', descriptors),
  };
  setIf(out, 'mediaType', mediaTypeOf(o, at, manifestMediaTypes));
  setIf(out, 'artifactType', optional(o, at, 'artifactType', nonEmptyString));
  setIf(out, 'subject', optional(o, at, 'subject', checkDescriptor));
  setIf(out, 'annotations', optional(o, at, 'annotations', stringMap));
  return out;
}

/** Validates an image index (OCI index or Docker manifest list); `what` names it in errors. */
export function validateIndex(v: unknown, what = 'index'): Index {
  const at: At = { doc: what, path: '' };
  const o = object(at, v);
  const out: Index = {
    schemaVersion: schemaVersion2(o, at),
    manifests: required(o, at, 'manifests', descriptors),
  };
  setIf(out, 'mediaType', mediaTypeOf(o, at, indexMediaTypes));
  setIf(out, 'artifactType', optional(o, at, 'artifactType', nonEmptyString));
  setIf(out, 'subject', optional(o, at, 'subject', checkDescriptor));
  setIf(out, 'annotations', optional(o, at, 'annotations', stringMap));
  return out;
}
