// Placeholder entry point: its handler is built by the work on this function and replaces this file.
export const handler = async (): Promise<never> => {
  throw new Error('oauth-callback is not implemented yet');
};
