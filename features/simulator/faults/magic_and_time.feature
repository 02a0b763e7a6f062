@faults
Feature: Magic amounts, outage windows and repeatable chance
  A developer triggers a fault from their own app's UI by paying a magic
  amount (fixtures/faults.yaml). A QA engineer schedules an outage on the
  simulated clock, or lets faults strike by chance — the same run repeats
  exactly, because chance is drawn from the run's seed.

  Scenario: A payment of x.54 fails with a system error; x.61 loses the first notification
    Given I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    And I remember the JSON field "accessToken" as "token"
    And I set the header "Authorization" to "Bearer {token}"
    And I use the Visa test card 00 as "card"
    When I send POST "/vm/v1/payments" with JSON:
      """
      {"orderNo": "M0000054", "amount": "10.54", "currency": "USD", "description": "magic amount",
       "paymentMethodType": "card", "fraudMode": "N", "threeDsMode": "no", "frontUrl": "https://shop.example/back",
       "card": {"captureMethod": "auto", "cardNo": "{card}", "cvc": "123", "expiryMonth": "06", "expiryYear": "2030", "firstName": "Ada", "lastName": "Lovelace"},
       "deviceInfo": {"clientIp": "10.1.1.1", "language": "en-US"}}
      """
    Then the response status is 503
    And the response header "X-Pspsim-Fault" is "magic-54-error"
    And the journal does not contain "{card}"
    Given a receiver "app"
    And test messages are retried after "30s"
    When vmgateway sends a "webhook" test message to the receiver "app" with JSON:
      """
      {"orderNo": "M0000061", "status": "CAPTURED", "amount": "10.61"}
      """
    Then the receiver "app" got nothing
    When the clock advances by "30s"
    Then the receiver "app" got 1 request
    And the fault rule "magic-61-drop" has fired 1 time

  Scenario: The gateway is down for 2 hours, starting in 1 hour
    Given a fault rule:
      """
      id: outage
      match: {system: vmgateway}
      action: {type: error, kind: unavailable}
      after: 1h
      for: 2h
      """
    Then the fault rule "outage" is inactive
    When the clock advances by "1h"
    Then the fault rule "outage" is active
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 503
    When the clock advances by "4h" in steps of "1h"
    Then the fault rule "outage" is inactive
    And the journal has an event of kind "fault.rule.activated" at "2026-11-22T11:00:00Z"
    And the journal has an event of kind "fault.rule.expired" at "2026-11-22T13:00:00Z"
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200

  Scenario: A flaky gateway fails by chance, the same way on every run
    Given the vmgateway operation "createAccessToken" answers HTTP 503 with probability 0.5
    When I send POST "/vm/v1/auth/token" 20 times with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the fault rule "{rule}" has fired 11 times
    And 11 of those answers were "503"
