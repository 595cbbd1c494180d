// Importing this module registers every architecture. Adding one: a file here and one line below.
import './transformer.ts';
import './retnet.ts';
import './diff.ts';
import './yoco.ts';
import './lex.ts';
import './momentum.ts';
export * from './registry.ts';
