// The generic checkers are shared with oci/image: src/util/json-fields.ts.
export * from '../../util/json-fields.ts';
