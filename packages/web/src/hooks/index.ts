export { ClientContext, useClient, useObservable, useOnline } from './client.js';
export { errorText, useLoad, type Loaded } from './load.js';
export { useServerState, type ServerState } from './server-state.js';
export { WorkspaceProvider, useWorkspace, type Workspace } from './workspace.js';
