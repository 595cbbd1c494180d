// Importing this module registers every suite. Adding one: a file here and one line below.
import './perplexity.ts';
import './extrapolation.ts';
import './needle.ts';
import './icl.ts';
import './efficiency.ts';
export * from './registry.ts';
