// Placeholder entry point: its handler is built by the work on this function and replaces this file.
export const handler = async (): Promise<never> => {
  throw new Error('install-page is not implemented yet');
};
