package flows

import "context"

// The dialogs and screens flows offers. Package bot decides which commands reach them
// and who may use each screen (bot/routes.go lists every prefix with its role), so
// flows exports the names (Flow…, Act… constants) but not the handlers.

// Dialogs are every dialog the engine runs.
func Dialogs() []*Definition {
	return []*Definition{
		dialogTemplateNew(),
		dialogTemplateRename(),
		dialogAdminAdd(),
		dialogBatchNew(),
		dialogBatchRename(),
		dialogChannelAdd(),
		dialogChannelRename(),
		dialogChannelRate(),
		dialogCampaignNew(),
		dialogWebhookAdd(),
		dialogAPIKeyNew(),
		dialogCampaignEdit(),
	}
}

// screens are the stateless screens by callback prefix; their roles come from the
// caller (Config.Roles).
func screens() map[string]Action {
	run := func(fn func(ctx context.Context, t *Turn, arg string) error) Action { return Action{Run: fn} }
	return map[string]Action{
		ActMenu:                  run(showMenu),
		ActHelp:                  run(showHelp),
		ActSettings:              run(showSettings),
		ActSettingsSet:           run(setLanguage),
		ActSoon:                  run(showSoon),
		ActTemplates:             run(showTemplates),
		ActTemplateView:          run(showTemplate),
		ActTemplatePreview:       run(previewTemplate),
		ActTemplateNew:           run(startTemplateNew),
		ActTemplateRename:        run(startTemplateRename),
		ActTemplateDuplicate:     run(duplicateTemplate),
		ActTemplateDelete:        run(askDeleteTemplate),
		ActTemplateDeleteConfirm: run(deleteTemplate),
		ActBatches:               run(showBatches),
		ActBatchView:             run(showBatch),
		ActBatchNew:              run(startBatchNew),
		ActBatchRename:           run(startBatchRename),
		ActBatchDelete:           run(askDeleteBatch),
		ActBatchDeleteConfirm:    run(deleteBatch),
		ActChannels:              run(showChannels),
		ActChannelView:           run(showChannel),
		ActChannelNew:            run(startChannelAdd),
		ActChannelRename:         run(startChannelRename),
		ActChannelRate:           run(startChannelRate),
		ActChannelToggle:         run(toggleChannel),
		ActChannelVerify:         {Prepare: identifyChannel, Run: verifyChannel},
		ActChannelRemove:         run(askRemoveChannel),
		ActChannelRemoveConfirm:  run(removeChannel),
		ActChannelMode:           {Prepare: identifyModeSwitch, Run: switchMode},
		ActChannelModeTakeOver:   {Prepare: dropWebhook, Run: takeOverChannel},
		ActChannelWelcome:        run(showWelcomeChoices),
		ActChannelWelcomeSet:     run(setWelcome),
		ActCampaigns:             run(showCampaigns),
		ActCampaignView:          run(showCampaign),
		ActCampaignNew:           run(startCampaignNew),
		ActCampaignCardControl:   {Prepare: controlCampaignFirst, Run: controlCampaignCard},
		ActCampaignControl:       {Prepare: controlCampaignFirst, Run: controlCampaign},
		ActCampaignControlSure:   {Prepare: controlCampaignConfirmed, Run: showControlled},
		ActCampaignEdit:          run(startCampaignEdit),
		ActCampaignOperate:       run(askOperation),
		ActCampaignOperateSure:   run(operateSure),
		ActAdmins:                run(showAdmins),
		ActAdminAdd:              run(startAdminAdd),
		ActAdminRemove:           run(askRemoveAdmin),
		ActAdminRemoveConfirm:    run(removeAdmin),
		ActAudit:                 run(showAudit),
		ActWebhooks:              run(showWebhooks),
		ActWebhookAdd:            run(startWebhookAdd),
		ActWebhookDelete:         run(askDeleteWebhook),
		ActWebhookDeleteConfirm:  run(deleteWebhook),
		ActAPIKeys:               run(showAPIKeys),
		ActAPIKeyNew:             run(startAPIKeyNew),
		ActAPIKeyRevoke:          run(askRevokeAPIKey),
		ActAPIKeyRevokeConfirm:   run(revokeAPIKey),
	}
}
