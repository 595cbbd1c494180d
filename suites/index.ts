// Importing this module registers every suite. Adding one: a file here and one line below.
import './perplexity.ts';
export * from './registry.ts';
