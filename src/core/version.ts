/**
 * This build's neurite version, the same as package.json's (a test keeps the
 * two equal). It is a constant rather than a read of package.json so that
 * the browser build has it too, and so that the replicas of a distributed job
 * can compare theirs without touching the file system.
 */
export const VERSION = '0.1.0';
