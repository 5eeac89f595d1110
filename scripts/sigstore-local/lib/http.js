// http.js — the answers every route returns: {statusCode, headers, body}.
'use strict';

const json = (statusCode, body, headers = {}) => ({
  statusCode,
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...headers },
});
const text = (statusCode, body, contentType) => ({ statusCode, body, headers: { 'Content-Type': contentType } });

module.exports = { json, text };
