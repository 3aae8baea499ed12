import { describe, expect, test } from 'vitest';
import { coreHarness, incoming } from '../support/core.js';

describe('cookie attributes', () => {
  test('development (http): HttpOnly, SameSite=Lax, Path=/, no Domain, no Max-Age, no Secure', async () => {
    const { sessions } = coreHarness();
    const [cookie] = (await sessions.create(incoming({ https: false }), { userId: 'alice' })).setCookie;
    expect(cookie).toMatch(
      /^cloakroom=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect(cookie).not.toMatch(/Domain|Max-Age|Expires|Secure/i);
  });

  test('HTTPS (auto): __Host- prefix with Secure and Path=/', async () => {
    const { sessions } = coreHarness();
    const [cookie] = (await sessions.create(incoming({ https: true }), { userId: 'alice' })).setCookie;
    expect(cookie).toMatch(/^__Host-cloakroom=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
  });

  test('secure: true forces __Host- even on plain http', async () => {
    const { sessions } = coreHarness({ cookie: { secure: true } });
    const [cookie] = (await sessions.create(incoming({ https: false }), { userId: 'alice' })).setCookie;
    expect(cookie).toMatch(/^__Host-cloakroom=.*; Secure$/);
  });

  test('SameSite=Strict when configured', async () => {
    const { sessions } = coreHarness({ cookie: { sameSite: 'strict' } });
    const [cookie] = (await sessions.create(incoming(), { userId: 'alice' })).setCookie;
    expect(cookie).toContain('SameSite=Strict');
  });

  test('clearing a __Host- cookie repeats Secure and Path=/ so browsers honour it', async () => {
    const { sessions } = coreHarness();
    const out = await sessions.destroy(incoming({ https: true, method: 'POST' }));
    expect(out.setCookie[0]).toBe(
      '__Host-cloakroom=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  test('the cookie over HTTPS is read only under its __Host- name', async () => {
    const { sessions } = coreHarness();
    const [cookie] = (await sessions.create(incoming({ https: true }), { userId: 'alice' })).setCookie;
    const value = cookie!.split(';')[0]!.split('=')[1]!;
    expect(
      (await sessions.validate(incoming({ https: true, cookie: `__Host-cloakroom=${value}` }))).session,
    ).not.toBeNull();
    for (const name of ['__HOST-cloakroom', '__host-cloakroom', 'cloakroom', 'Cloakroom']) {
      expect(
        (await sessions.validate(incoming({ https: true, cookie: `${name}=${value}` }))).session,
        name,
      ).toBeNull();
    }
  });

  test('name plus value stays far below the 4096-byte browser limit', async () => {
    const { sessions } = coreHarness();
    const [cookie] = (await sessions.create(incoming({ https: true }), { userId: 'alice' })).setCookie;
    expect(cookie!.split(';')[0]!.length).toBeLessThan(120);
  });

  test('no user data ever goes into the cookie', async () => {
    const { sessions } = coreHarness();
    const [cookie] = (await sessions.create(incoming(), { userId: 'alice-user-id', data: { role: 'admin' } }))
      .setCookie;
    const value = cookie!.split(';')[0]!.split('=')[1]!;
    const decoded = Buffer.from(value.split('.')[0]!, 'base64url').toString('latin1');
    expect(value + decoded).not.toMatch(/alice|admin/);
  });
});
