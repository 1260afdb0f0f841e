export { startApp, type AppOptions, type RunningApp } from './app';
export { deviceLabel } from './device-label';
export { createCsrfGuard, type CsrfGuard } from './csrf';
