Feature: 3-D Secure challenges on the card gateway
  A card payment whose card asks for a challenge (TESTCARDS.md rows 06, 07, 08) waits,
  REQUIRES_ACTION, for the cardholder on pspsim's challenge page. The code 123456 passes,
  000000 fails, Cancel abandons; the page then sends the buyer back to the gateway, and
  the payment carries the authentication's result.

  Background:
    Given I have a card gateway access token for "sandbox"

  Scenario Outline: The cardholder answers the challenge on the page
    When I pay "25.00" USD with the card "<card>" as order "<order>"
    Then the response status is 200
    And the JSON field "status" is "REQUIRES_ACTION"
    And the JSON field "nextAction.type" is "redirect"
    And the JSON field "threeDs.transStatus" is "C"
    When the buyer opens the 3-D Secure challenge
    And <action>
    Then the buyer is sent to the gateway's return page of the payment
    And the payment of order "<order>" is "<status>"
    And the 3-D Secure result of order "<order>" is "<transStatus>" with ECI "<eci>"
    And the journal has an event of kind "threeds.challenge_completed"
    And the journal does not contain "<card>"

    Examples:
      | card             | order    | action                                              | status   | transStatus | eci |
      | 4000123456000068 | C0000001 | the buyer enters the code "123456" on the challenge page | CAPTURED | Y           | 05  |
      | 5100123456000064 | C0000002 | the buyer enters the code "123456" on the challenge page | CAPTURED | Y           | 02  |
      | 4000123456000076 | C0000003 | the buyer enters the code "000000" on the challenge page | FAILED   | N           | 07  |
      | 5100123456000080 | C0000004 | the buyer cancels the challenge                          | FAILED   | U           | 00  |

  Scenario: A failed or abandoned challenge says why
    When I pay "25.00" USD with the card "4000123456000084" as order "C0000005"
    And the buyer opens the 3-D Secure challenge
    And the buyer cancels the challenge
    And I inquire the payment of order "C0000005"
    Then the JSON field "failureCode" is "AUTHENTICATION_ABANDONED"
    And the JSON field "threeDs.transStatusReason" is "14"
    And the JSON field "threeDs.liabilityShift" is "false"

  Scenario: A challenge completed without a browser, through the admin API
    When I pay "25.00" USD with the card "4000123456000068" as order "C0000006" with "captureMethod=manual"
    And the challenge of order "C0000006" is completed with "pass" through the admin API
    Then the payment of order "C0000006" is "AUTHORIZED"
    And the JSON field "threeDs.liabilityShift" is "true"

  Scenario: Nobody answers the challenge: it times out after 10 minutes
    When I pay "25.00" USD with the card "4000123456000068" as order "C0000007"
    And the clock advances by "10m"
    Then the payment of order "C0000007" is "FAILED"
    And the JSON field "failureCode" is "AUTHENTICATION_ABANDONED"

  Scenario: A decoupled authentication resolves on the clock
    When I pay "25.00" USD with the card "4000123456000134" as order "C0000008"
    Then the JSON field "status" is "PENDING"
    And the JSON field "threeDs.transStatus" is "D"
    When the clock advances by "30s"
    Then the payment of order "C0000008" is "CAPTURED"
    And the 3-D Secure result of order "C0000008" is "Y" with ECI "05"
