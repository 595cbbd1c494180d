// The project's floors, lowest first: architectures < harness < suites < reports < cli (the front door;
// bin/ and tools/ stand beside it). A module may import its own floor and the floors below, never one above.
// Tests (*.test.ts, tests/) sit outside the floors. Run by `npm test` (tests/structure.test.ts) and by
// `npx depcruise architectures harness suites reports cli bin tools --config .dependency-cruiser.cjs`.
const notTest = '(^tests/|\\.test\\.ts$)';
const floor = (name, from, above) => ({
  name,
  severity: 'error',
  comment: `${from} may not import ${above}: imports run down the floors only`,
  from: { path: `^${from}/`, pathNot: notTest },
  to: { path: `^(${above})/` },
});

module.exports = {
  forbidden: [
    floor('architectures-stand-alone', 'architectures', 'harness|suites|reports|cli|tools|bin'),
    floor('harness-below-suites', 'harness', 'suites|reports|cli|tools|bin'),
    floor('suites-below-reports', 'suites', 'reports|cli|tools|bin'),
    floor('reports-below-cli', 'reports', 'cli|tools|bin'),
    {
      name: 'no-import-loop',
      severity: 'error',
      comment: 'no module may reach itself through its imports',
      from: {},
      to: { circular: true },
    },
    {
      name: 'suites-apart',
      severity: 'error',
      comment: 'a suite imports no other suite: what two suites share lives in suites/tasks/ or the suite contract',
      from: { path: '^suites/([a-z]+)', pathNot: `(${notTest}|^suites/(index|registry|interface)\\.ts$)` },
      to: { path: '^suites/', pathNot: '^suites/($1[-./]|tasks/|interface\\.ts$|registry\\.ts$)' },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules/|\\.gpu-kit/)' },
  },
};
