import type { EmulatorRequest, EmulatorResponse, RoutedRequest } from './http.js';

/**
 * A stand-in for Bitrix24's JS library (BX24.js, `//api.bitrix24.com/api/v1/`), so an app page framed
 * by the emulator works without the internet. Like the real library it talks to the portal page that
 * frames the app through `postMessage`; the portal page (the emulator's frame page, `framePageBridge`)
 * does the work: `installFinish()` finishes the installation, `callMethod()` calls the portal's REST
 * API with the frame's token. Only what app pages of this project use is there: `init`, `installFinish`,
 * `callMethod` (with `result.error()` / `result.data()`), `getAuth`.
 */

/** The library's host: the emulator answers it at `/h/api.bitrix24.com/api/v1/`. */
export const BX24_LIBRARY_HOST = 'api.bitrix24.com';

/** Marks our messages among whatever else a page posts. */
const TAG = 'bx24StandIn';

/** The library, talking only to a parent page at `portalOrigin` (the emulator). */
function library(portalOrigin: string): string {
  return `/* BX24.js stand-in of the Bitrix24 emulator: init, installFinish, callMethod, getAuth. */
(function () {
  var portal = ${JSON.stringify(portalOrigin)};
  var pending = {};
  var next = 1;
  var auth = null;
  function send(method, params, done) {
    var id = next++;
    if (done) pending[id] = done;
    window.parent.postMessage({ ${TAG}: true, id: id, method: method, params: params || {} }, portal);
  }
  window.addEventListener('message', function (event) {
    var answer = event.data;
    if (event.origin !== portal || !answer || answer.${TAG} !== true) return;
    var done = pending[answer.id];
    delete pending[answer.id];
    if (done) done(answer);
  });
  function result(answer) {
    return {
      error: function () { return answer.error ? answer.error + ': ' + (answer.errorDescription || '') : false; },
      data: function () { return answer.data; }
    };
  }
  window.BX24 = {
    init: function (callback) {
      send('init', {}, function (answer) { auth = answer.auth || null; if (callback) callback(); });
    },
    installFinish: function () { send('installFinish'); },
    callMethod: function (method, params, callback) {
      send('callMethod', { method: method, params: params || {} }, function (answer) {
        if (callback) callback(result(answer));
      });
    },
    getAuth: function () { return auth; }
  };
})();
`;
}

/** `GET /h/api.bitrix24.com/api/v1/`: the library, for pages framed by this emulator. */
export function routeLibrary(portalOrigin: string, request: EmulatorRequest): RoutedRequest | undefined {
  if (request.method !== 'GET' || !/^\/api\/v1\/?$/.test(request.path)) return undefined;
  return {
    target: undefined,
    handle: async (): Promise<EmulatorResponse> => ({
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' },
      body: library(portalOrigin),
    }),
  };
}

/** What the frame page's bridge needs: where the app lives and how to act for it. */
export interface BridgeSettings {
  /** Origin of the app page in the iframe (only its messages are answered). */
  readonly appOrigin: string;
  /** The portal's REST base as the browser reaches it, e.g. `/h/demo.bitrix24.com/rest/`. */
  readonly restBase: string;
  /** Control route that marks `installFinish` done. */
  readonly finishUrl: string;
  /**
   * Control route that issues the user a fresh pair: what the real library gets from the portal
   * (`BX24.refreshAuth`) once the app's server has refreshed the frame's pair and so retired its token.
   */
  readonly tokensUrl: string;
  /** The frame's access token (the page already holds it in the frame form, as the real portal does). */
  readonly accessToken: string;
  readonly domain: string;
  readonly memberId: string;
}

/**
 * The portal side of the library: answers the framed app's messages and lists each in the page
 * (`#bx24-log`); `installFinish` also marks `data-install-finished` on `<body>`.
 */
export function framePageBridge(settings: BridgeSettings): string {
  return `<script>(function () {
  var app = document.querySelector('iframe[name="app"]');
  var log = document.getElementById('bx24-log');
  var s = ${JSON.stringify(settings).replaceAll('<', '\\u003c')};
  function say(text) {
    var item = document.createElement('li');
    item.textContent = text;
    log.appendChild(item);
  }
  function reply(id, answer) {
    answer.${TAG} = true;
    answer.id = id;
    app.contentWindow.postMessage(answer, s.appOrigin);
  }
  window.addEventListener('message', function (event) {
    var message = event.data;
    if (event.source !== app.contentWindow || event.origin !== s.appOrigin || !message || message.${TAG} !== true) return;
    if (message.method === 'init') {
      say('The app loaded BX24.js (the emulator\\u2019s stand-in) and called BX24.init().');
      reply(message.id, { auth: { access_token: s.accessToken, domain: s.domain, member_id: s.memberId } });
    } else if (message.method === 'installFinish') {
      fetch(s.finishUrl, { method: 'POST' }).then(function (response) {
        say(response.ok ? 'The app called BX24.installFinish(): the installation is finished.' : 'installFinish failed: HTTP ' + response.status);
        if (response.ok) document.body.setAttribute('data-install-finished', 'true');
      });
    } else if (message.method === 'callMethod') {
      var method = String(message.params.method);
      var call = function (retried) {
        var body = Object.assign({}, message.params.params, { auth: s.accessToken });
        return fetch(s.restBase + encodeURIComponent(method), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body)
        }).then(function (response) { return response.json(); }).then(function (answer) {
          var stale = answer.error === 'expired_token' || answer.error === 'invalid_token';
          if (!stale || retried) return answer;
          // The app's server spent the frame's pair (that retires its access token): renew, as BX24 does.
          return fetch(s.tokensUrl, { method: 'POST' }).then(function (response) { return response.json(); })
            .then(function (tokens) { s.accessToken = tokens.accessToken; return call(true); });
        });
      };
      call(false).then(function (answer) {
        say('The app called BX24.callMethod(\\'' + method + '\\')' + (answer.error ? ': ' + answer.error : '.'));
        reply(message.id, answer.error ? { error: answer.error, errorDescription: answer.error_description } : { data: answer.result });
      });
    }
  });
})();</script>`;
}
