Feature: Installing a payment app on a Genstore shop
  A merchant installs a payment app: Genstore sends the merchant's browser to
  the app's onboarding URL with a one-time code, the app exchanges the code
  for the shop's access token, and reports when the merchant's PSP account is
  linked. Genstore sends no payment to an app that is not ready.

  Background:
    Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30
    And a payment app "my-app" is registered with Genstore

  Scenario: The app is installed by the OAuth flow and reports its account ready
    When the app "my-app" is installed on shop "7001"
    And I send GET "/_sim/genstore/shops/7001/installations"
    Then the response status is 200
    And the JSON field "installations[0].clientId" is "my-app"
    And the JSON field "installations[0].ready" is "true"
    And every request the app received was correctly signed
    And the journal has an event of kind "installation.token_issued"

  Scenario: An installation code is single-use
    When I send POST "/_sim/genstore/shops/7001/installations" with JSON:
      """
      {"clientId": "my-app", "followRedirect": false}
      """
    And I remember the JSON field "code" as "code"
    And I send POST "/genstore/api/202412/oauth/access_token" with JSON:
      """
      {"client_id": "my-app", "client_secret": "my-app-secret-0001", "code": "{code}"}
      """
    Then the response status is 200
    And the JSON field "scope" is "write_payment,read_payments_transaction,write_payments_transaction"
    When I send POST "/genstore/api/202412/oauth/access_token" with JSON:
      """
      {"client_id": "my-app", "client_secret": "my-app-secret-0001", "code": "{code}"}
      """
    Then the response status is 400
    And the JSON field "errors" contains "already used"

  Scenario: An installation code expires after 10 minutes
    When I send POST "/_sim/genstore/shops/7001/installations" with JSON:
      """
      {"clientId": "my-app", "followRedirect": false}
      """
    And I remember the JSON field "code" as "code"
    And the clock advances by "10m"
    And I send POST "/genstore/api/202412/oauth/access_token" with JSON:
      """
      {"client_id": "my-app", "client_secret": "my-app-secret-0001", "code": "{code}"}
      """
    Then the response status is 400
    And the JSON field "errors" contains "expired"

  Scenario: No payment goes to an app that is not ready
    Given the app "my-app" is installed on shop "7001"
    When the app reports its account not ready
    Then the response status is 200
    When a buyer tries to pay "10.00" with card "4000123456000019"
    Then the response status is 409
    And the JSON field "error.message" contains "not ready"
    And the app received 0 payment requests
    When the app reports its account ready
    And a buyer pays "10.00" with card "4000123456000019"
    Then the app received 1 payment request
