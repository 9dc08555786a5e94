export { defaultDomain, defaultTag, maxNameLength, maxTagLength } from './grammar.ts';
export {
  familiarName,
  formatReference,
  manifestTarget,
  parseReference,
  parseReferenceParts,
  type Reference,
  repository,
} from './reference.ts';
