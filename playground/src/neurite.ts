// The playground's one door to neurite: the package's public browser entry,
// nothing deeper (the dependency check in .dependency-cruiser.cjs enforces it).
export * from '../../src/index.browser.js';
