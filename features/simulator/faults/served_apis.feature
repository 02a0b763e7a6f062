@faults
Feature: Faults on the APIs pspsim serves
  A QA engineer makes the payment gateway and Genstore misbehave on purpose —
  slow, silent, rude or broken — to see what the app under test does. Each
  fault is a rule: which calls it matches, what it does, how often.

  Background:
    # Generous: on a busy machine a normal answer can take seconds. A
    # scenario that waits for a timeout on purpose sets a short one.
    Given requests time out after "60s"

  Scenario: A payment the gateway never answers is judged by the next step
    # The fault holds the connection 60 s: the client gives up well before
    # (at 60 s both, it was a race between them).
    Given I have a card gateway access token for "sandbox"
    And the vmgateway operation "createPayment" times out
    And requests time out after "2s"
    When I pay "25.00" USD with the card "4000123456000001" as order "T0000001"
    Then the request times out
    When the fault rules are cleared
    And requests time out after "60s"
    And I pay "25.00" USD with the card "4000123456000001" as order "T0000001"
    Then the response status is 200

  Scenario: The gateway never answers: the client times out
    Given requests time out after "1s"
    And the vmgateway operation "createAccessToken" times out
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the request times out
    And the fault rule "{rule}" has fired 1 time
    And the journal has an event of kind "fault.fired.timeout" about "{rule}"
    And the journal has no event of kind "auth.token_issued"

  Scenario: The connection is reset and nothing is created
    Given the vmgateway operation "createAccessToken" resets the connection once
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the connection is reset
    And the journal has no event of kind "auth.token_issued"
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200

  Scenario: Added latency, then the normal answer
    Given the vmgateway operation "createAccessToken" is slowed by "200ms-300ms"
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200
    And the request took at least "200ms"

  Scenario: A proxy in front of the gateway answers 502 twice
    Given the vmgateway operation "createAccessToken" answers HTTP 502 twice
    When I send POST "/vm/v1/auth/token" 4 times with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then those answers were "502, 502, 200, 200"

  Scenario: A system error in the gateway's own envelope, every 3rd call
    Given I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    And I remember the JSON field "accessToken" as "token"
    And I set the header "Authorization" to "Bearer {token}"
    And the vmgateway operation "inquirePayment" fails with a system error every 3rd time
    When I send POST "/vm/v1/payments/inquiry" 6 times with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    Then 2 of those answers were "503"
    When I send POST "/vm/v1/payments/inquiry" with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    And I send POST "/vm/v1/payments/inquiry" with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    And I send POST "/vm/v1/payments/inquiry" with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    Then the response status is 503
    And the JSON field "code" is "INTERNAL_ERROR"
    And the JSON field "traceId" exists

  Scenario: Genstore refuses a callback with its own error code
    Given I set the header "X-Genstore-Access-Token" to "gst_demo_0000000000000000000000000001"
    And the genstore operation "updatePaymentResult" fails with a system error
    When I send PUT "/genstore/api/202412/app/payment/PI00202510281513381" with JSON:
      """
      {"pay": {"result": "true", "paymentId": "PI00202510281513381", "channelPaymentId": "2025102815"}}
      """
    Then the response status is 503
    And the JSON field "errors" is "service temporarily unavailable"

  Scenario: An HTML page where JSON was expected
    Given the vmgateway operation "createAccessToken" answers with a malformed body
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200
    And the response body is not JSON

  Scenario: The answer breaks off half way
    Given the vmgateway operation "createAccessToken" is cut short
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the answer is cut short
    And the journal has an event of kind "auth.token_issued"

  Scenario: A rule written out in full: only calls with a header, on the 2nd such call
    Given a fault rule:
      """
      id: second-flagged-call
      match:
        system: vmgateway
        operation: createAccessToken
        header: {name: X-Test-Case, value: flaky}
        nth: 2
      action: {type: status, status: 429, headers: {Retry-After: "30"}}
      """
    And I set the header "X-Test-Case" to "flaky"
    When I send POST "/vm/v1/auth/token" 3 times with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then those answers were "200, 429, 200"
    And the fault rule "second-flagged-call" has fired 1 time

  Scenario: A malformed rule is refused with the field named
    When I send POST "/_sim/faults" with JSON:
      """
      {"id": "typo", "match": {"system": "vmgateway"}, "action": {"type": "timeout", "hold": "forever"}}
      """
    Then the response status is 400
    And the JSON field "error.field" is "action.hold"
    And the JSON field "error.message" contains "fault rule typo"
