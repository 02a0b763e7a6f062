@faults
Feature: Processed, answer lost
  The call the idempotency keys exist for: the PSP does the work and commits
  it, but the answer never reaches the app. A correct app retries with the
  same key, or asks the PSP, and finds the operation done.

  Background:
    # Generous: on a busy machine a normal answer can take seconds. The
    # hanging connection is given up on after a short wait, on purpose.
    Given requests time out after "60s"

  Scenario Outline: The token is issued although the client never hears of it
    Given requests time out after "<patience>"
    And <fault>
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then <what the client sees>
    And the journal has an event of kind "auth.token_issued"
    And the journal has an event of kind "fault.effect.lost" whose message contains "answered HTTP 200"

    Examples:
      | fault                                                                               | patience | what the client sees                |
      | the vmgateway operation "createAccessToken" is processed but its answer is lost     | 60s      | the connection is reset             |
      | the vmgateway operation "createAccessToken" is processed but the connection hangs   | 1s       | the request times out               |
      | the vmgateway operation "createAccessToken" is processed but answers HTTP 502       | 60s      | the response status is 502          |

  Scenario: The retry gets its answer
    Given the vmgateway operation "createAccessToken" is processed but its answer is lost once
    When I send POST "/vm/v1/auth/token" 2 times with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then those answers were "reset, 200"
    And the journal has 2 events of kind "auth.token_issued"
