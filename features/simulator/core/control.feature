Feature: The simulator's control API
  A developer or a QA engineer checks that the sandbox is up, moves its clock,
  and reads what happened in the journal. Every system answers a wrong path in
  its own dialect.

  Scenario: The sandbox reports its health
    When I send GET "/_sim/health"
    Then the response status is 200
    And the JSON field "status" is "ok"
    And the JSON field "clock.mode" is "sim"

  Scenario: The simulated clock moves only when told, and the journal records it
    Then the clock reads "2026-11-22T10:00:00Z"
    When the clock advances by "48h"
    Then the clock reads "2026-11-24T10:00:00Z"
    And the journal has 1 event of kind "clock.moved"

  Scenario: The clock refuses to move backwards
    When I send POST "/_sim/clock/set" with JSON:
      """
      {"to": "2020-01-01T00:00:00Z"}
      """
    Then the response status is 409
    And the JSON field "error.code" is "conflict"

  Scenario Outline: Each system answers an unknown path in its own dialect
    When I send POST "<path>" with JSON:
      """
      {}
      """
    Then the response status is 404
    And the JSON field "<field>" is "<value>"

    Examples:
      | path                        | field      | value     |
      | /codepay/api/nothing        | code       | 40012     |
      | /vm/v1/nothing              | code       | NOT_FOUND |
      | /_sim/nothing               | error.code | not_found |

  Scenario: A card gateway access token is issued and used
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200
    And the JSON field "environment" is "sandbox"
    And I remember the JSON field "accessToken" as "token"
    When I set the header "Authorization" to "Bearer {token}"
    And I send POST "/vm/v1/payments/inquiry" with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    Then the response status is 200
    When the clock advances by "2h1m"
    And I send POST "/vm/v1/payments/inquiry" with JSON:
      """
      {"orderNo": "20220828000002"}
      """
    Then the response status is 401
    And the JSON field "code" is "UNAUTHORIZED"
    And the journal has an event of kind "auth.token_issued"

  Scenario: Card numbers never reach the journal
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "4000123456000019", "secret": "nope"}
      """
    Then the response status is 401
    And the journal does not contain "4000123456000019"
